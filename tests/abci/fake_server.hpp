// An ABCI server on a Unix socket, in the test's process, whose answers each test writes:
// correct ones, or the ways an application can break the exchange (close, garbage, the
// wrong type, an Exception, silence).
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../node/temp_dir.hpp"
#include "bft/abci/framing.hpp"
#include "tendermint/abci/types.pb.h"

namespace bft::abci {
namespace pb = tendermint::abci;
}  // namespace bft::abci

namespace bft::abci::testing {

/// What the server does with one request: the bytes it sends back (any number of frames,
/// or garbage); `close` set to hang up after sending them.
struct Reply {
  std::string bytes;
  bool close = false;
};

inline std::string framed(const pb::Response& response) {
  std::string out;
  append_frame(out, response.SerializeAsString());
  return out;
}

/// The answer a correct application gives to the requests the tests send.
inline pb::Response correct_answer(const pb::Request& request) {
  pb::Response response;
  switch (request.value_case()) {
    case pb::Request::kEcho: response.mutable_echo()->set_message(request.echo().message()); break;
    case pb::Request::kFlush: response.mutable_flush(); break;
    case pb::Request::kInfo: response.mutable_info(); break;
    case pb::Request::kInitChain: response.mutable_init_chain()->set_app_hash("initial"); break;
    case pb::Request::kQuery: response.mutable_query()->set_value(request.query().data()); break;
    case pb::Request::kCheckTx: response.mutable_check_tx(); break;
    case pb::Request::kCommit: response.mutable_commit()->set_retain_height(0); break;
    case pb::Request::kPrepareProposal:
      *response.mutable_prepare_proposal()->mutable_txs() = request.prepare_proposal().txs();
      break;
    case pb::Request::kProcessProposal:
      response.mutable_process_proposal()->set_status(pb::ResponseProcessProposal::ACCEPT);
      break;
    case pb::Request::kFinalizeBlock:
      for (int i = 0; i < request.finalize_block().txs_size(); ++i) response.mutable_finalize_block()->add_tx_results();
      response.mutable_finalize_block()->set_app_hash(std::string(32, 'h'));
      break;
    case pb::Request::VALUE_NOT_SET: break;
  }
  return response;
}

class FakeServer {
 public:
  using Behaviour = std::function<Reply(const pb::Request&)>;

  /// Starts listening at once unless `listen_after` is positive (a late application).
  explicit FakeServer(Behaviour behaviour, std::chrono::milliseconds listen_after = {})
      : dir_("bft-abci-fake"), path_((dir_.path() / "app.sock").string()), behaviour_(std::move(behaviour)) {
    thread_ = std::thread([this, listen_after] {
      std::this_thread::sleep_for(listen_after);
      if (!stopping_) serve();
    });
  }
  ~FakeServer() {
    stopping_ = true;
    thread_.join();
    {
      const std::lock_guard lock(mutex_);
      for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
    }
    for (std::thread& handler : handlers_) handler.join();
    if (listener_ >= 0) ::close(listener_);
  }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  std::string address() const { return "unix://" + path_; }

  /// Every request received, in order of arrival (all connections).
  std::vector<pb::Request> requests() const {
    const std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
    ::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    ::listen(listener, 8);
    listener_ = listener;
    while (!stopping_) {
      pollfd ready{listener, POLLIN, 0};
      if (::poll(&ready, 1, 20) <= 0) continue;
      const int fd = ::accept(listener, nullptr, nullptr);
      if (fd < 0) return;
      const std::lock_guard lock(mutex_);
      connections_.push_back(fd);
      handlers_.emplace_back([this, fd] { handle(fd); });
    }
  }

  void handle(int fd) {
    FrameDecoder decoder(1 << 20);
    char chunk[4096];
    while (true) {
      auto frame = decoder.next();
      if (!frame) break;
      if (!*frame) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        decoder.feed(std::span<const char>(chunk, static_cast<std::size_t>(n)));
        continue;
      }
      pb::Request request;
      request.ParseFromString(**frame);
      {
        const std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      const Reply reply = behaviour_(request);
      if (!reply.bytes.empty()) ::send(fd, reply.bytes.data(), reply.bytes.size(), MSG_NOSIGNAL);
      if (reply.close) break;
    }
    ::close(fd);
    const std::lock_guard lock(mutex_);
    std::erase(connections_, fd);
  }

  node::testing::TempDir dir_;
  std::string path_;
  Behaviour behaviour_;
  std::atomic<int> listener_{-1};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<int> connections_;
  std::vector<std::thread> handlers_;
  std::vector<pb::Request> requests_;
};

/// Answers every request correctly, Flush included.
inline Reply behave(const pb::Request& request) { return {framed(correct_answer(request))}; }

}  // namespace bft::abci::testing
