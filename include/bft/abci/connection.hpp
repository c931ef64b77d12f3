// One ABCI connection to an application server (a TCP or Unix socket), used as CometBFT's
// socket client uses it: a request, then a Flush, and the answers in request order. Each
// call waits for its answer up to a deadline; one caller at a time (a mutex), because
// answers are matched to requests by their order alone.
//
// A call that fails leaves the connection broken for good: the stream's position is no
// longer known (a late answer would be taken for the next request's), so every later call
// fails at once with the first error.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "bft/abci/framing.hpp"
#include "bft/result.hpp"
#include "tendermint/abci/types.pb.h"

namespace bft::abci {

/// Where the application listens: "tcp://host:port" or "unix:///absolute/path".
struct SocketAddress {
  enum class Kind : std::uint8_t { tcp, unix_socket };
  Kind kind = Kind::tcp;
  std::string host;  // tcp
  std::uint16_t port = 0;  // tcp
  std::string path;  // unix_socket
  std::string text;  // as given, for messages
};

/// Errors: invalid_argument (another scheme, no port, a relative or too long path).
Result<SocketAddress> parse_socket_address(std::string_view text);

struct ConnectionOptions {
  /// How long one call may take, from sending the request to the Flush's answer.
  std::chrono::milliseconds call_timeout{10'000};
  /// How long to keep trying to connect (the application may start after the node).
  std::chrono::milliseconds connect_timeout{10'000};
  /// The longest answer accepted; a longer announced length breaks the connection.
  std::size_t max_response_bytes = std::size_t{64} << 20;
};

/// The Response case that answers a Request case (Exception aside).
tendermint::abci::Response::ValueCase answer_case(tendermint::abci::Request::ValueCase request);

class Connection {
 public:
  /// Connects, retrying with a growing pause (50 ms doubling to 1 s) until
  /// options.connect_timeout. `name` (consensus, mempool, query) is for messages. Errors:
  /// io_error naming the address and the last reason.
  static Result<std::unique_ptr<Connection>> open(const SocketAddress& address, std::string name,
                                                  const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Sends `request` and a Flush and returns the answer to `request`. Any thread. Errors,
  /// each naming `method` and the connection: io_error (closed by the application, no
  /// answer within the deadline, a send that fails), malformed (a frame that is not a
  /// Response, an answer of another type, a Flush answered by something else), too_large,
  /// invalid_argument (the application answered with an Exception); after any of them,
  /// every later call fails with the first error.
  Result<tendermint::abci::Response> call(const tendermint::abci::Request& request, std::string_view method);

  const std::string& name() const noexcept { return name_; }

 private:
  Connection(int fd, std::string name, const ConnectionOptions& options);
  Result<void> send_all(const std::string& bytes, std::chrono::steady_clock::time_point deadline);
  Result<tendermint::abci::Response> receive(std::chrono::steady_clock::time_point deadline);
  Result<tendermint::abci::Response> exchange(const tendermint::abci::Request& request);

  int fd_;
  std::string name_;
  ConnectionOptions options_;
  std::mutex mutex_;
  FrameDecoder decoder_;
  std::optional<Error> broken_;
};

}  // namespace bft::abci
