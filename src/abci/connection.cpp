#include "bft/abci/connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

namespace bft::abci {

namespace {

using Clock = std::chrono::steady_clock;
using tendermint::abci::Request;
using tendermint::abci::Response;

std::string errno_text(int error) { return std::strerror(error); }

int milliseconds_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<std::int64_t>(left, 0, 60'000));
}

/// Waits until `fd` is ready for `events` or the deadline passes (false).
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd entry{fd, events, 0};
    const int ready = ::poll(&entry, 1, milliseconds_until(deadline));
    if (ready > 0) return true;
    if (ready == 0 && Clock::now() >= deadline) return false;
    if (ready < 0 && errno != EINTR) return false;
  }
}

/// One connection attempt, bounded by `deadline`: the socket, or why not.
Result<int> try_connect(const SocketAddress& address, Clock::time_point deadline) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_UNIX;
  if (address.kind == SocketAddress::Kind::unix_socket) {
    auto* local = reinterpret_cast<sockaddr_un*>(&storage);
    if (address.path.size() >= sizeof local->sun_path)
      return make_error(Errc::invalid_argument, "the path is longer than a Unix socket address holds");
    local->sun_family = AF_UNIX;
    std::memcpy(local->sun_path, address.path.c_str(), address.path.size() + 1);
    length = sizeof(sockaddr_un);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(address.port);
    if (const int failed = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); failed != 0)
      return make_error(Errc::io_error, std::string("cannot resolve the host: ") + ::gai_strerror(failed));
    std::memcpy(&storage, found->ai_addr, found->ai_addrlen);
    length = found->ai_addrlen;
    family = found->ai_family;
    ::freeaddrinfo(found);
  }
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error(Errc::io_error, "socket: " + errno_text(errno));
  const auto fail = [fd](const std::string& why) {
    ::close(fd);
    return make_error(Errc::io_error, why);
  };
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0) {
    if (errno != EINPROGRESS) return fail(errno_text(errno));
    if (!wait_ready(fd, POLLOUT, deadline)) return fail("the connection did not complete in time");
    int error = 0;
    socklen_t size = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) return fail(errno_text(error));
  }
  if (address.kind == SocketAddress::Kind::tcp) {
    // Each call is one small request and a Flush, waited for: never hold them back.
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  return fd;
}

const char* case_name(Response::ValueCase value) {
  switch (value) {
    case Response::kException: return "Exception";
    case Response::kEcho: return "Echo";
    case Response::kFlush: return "Flush";
    case Response::kInfo: return "Info";
    case Response::kInitChain: return "InitChain";
    case Response::kQuery: return "Query";
    case Response::kCheckTx: return "CheckTx";
    case Response::kCommit: return "Commit";
    case Response::kPrepareProposal: return "PrepareProposal";
    case Response::kProcessProposal: return "ProcessProposal";
    case Response::kFinalizeBlock: return "FinalizeBlock";
    case Response::VALUE_NOT_SET: break;
  }
  return "an empty or unknown Response";
}

}  // namespace

Result<SocketAddress> parse_socket_address(std::string_view text) {
  SocketAddress address;
  address.text = std::string(text);
  const auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument, "ABCI address '" + address.text + "': " + why);
  };
  if (text.starts_with("unix://")) {
    address.kind = SocketAddress::Kind::unix_socket;
    address.path = std::string(text.substr(7));
    if (!address.path.starts_with('/')) return bad("a Unix socket needs an absolute path (unix:///path/app.sock)");
    if (address.path.size() >= sizeof(sockaddr_un::sun_path))
      return bad("the path is longer than a Unix socket address holds");
    return address;
  }
  if (!text.starts_with("tcp://")) return bad("expected tcp://host:port or unix:///path");
  const std::string_view rest = text.substr(6);
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad("expected tcp://host:port");
  std::string_view host = rest.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  const std::string_view port = rest.substr(colon + 1);
  unsigned value = 0;
  const auto parsed = std::from_chars(port.data(), port.data() + port.size(), value);
  if (parsed.ec != std::errc{} || parsed.ptr != port.data() + port.size() || value == 0 || value > 65535)
    return bad("the port must be a number from 1 to 65535");
  address.host = std::string(host);
  address.port = static_cast<std::uint16_t>(value);
  return address;
}

Response::ValueCase answer_case(Request::ValueCase request) {
  switch (request) {
    case Request::kEcho: return Response::kEcho;
    case Request::kFlush: return Response::kFlush;
    case Request::kInfo: return Response::kInfo;
    case Request::kInitChain: return Response::kInitChain;
    case Request::kQuery: return Response::kQuery;
    case Request::kCheckTx: return Response::kCheckTx;
    case Request::kCommit: return Response::kCommit;
    case Request::kPrepareProposal: return Response::kPrepareProposal;
    case Request::kProcessProposal: return Response::kProcessProposal;
    case Request::kFinalizeBlock: return Response::kFinalizeBlock;
    case Request::VALUE_NOT_SET: break;
  }
  return Response::VALUE_NOT_SET;
}

Connection::Connection(int fd, std::string name, const ConnectionOptions& options)
    : fd_(fd), name_(std::move(name)), options_(options), decoder_(options.max_response_bytes) {}

Connection::~Connection() { ::close(fd_); }

Result<std::unique_ptr<Connection>> Connection::open(const SocketAddress& address, std::string name,
                                                     const ConnectionOptions& options) {
  const auto give_up = Clock::now() + options.connect_timeout;
  auto pause = std::chrono::milliseconds(50);
  while (true) {
    auto fd = try_connect(address, give_up);
    if (fd) return std::unique_ptr<Connection>(new Connection(*fd, std::move(name), options));
    const auto now = Clock::now();
    if (now >= give_up)
      return make_error(Errc::io_error, "cannot connect the ABCI " + name + " connection to " + address.text +
                                            " within " + std::to_string(options.connect_timeout.count()) +
                                            " ms: " + fd.error().message);
    // The last attempt is made at the deadline, not a whole pause before it.
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, give_up - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));
  }
}

Result<void> Connection::send_all(const std::string& bytes, Clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(fd_, POLLOUT, deadline)) return make_error(Errc::io_error, "the request could not be sent in time");
      continue;
    }
    return make_error(Errc::io_error, "sending failed: " + errno_text(errno));
  }
  return {};
}

Result<Response> Connection::receive(Clock::time_point deadline) {
  while (true) {
    auto frame = decoder_.next();
    if (!frame) return frame.error();
    if (*frame) {
      Response response;
      if (!response.ParseFromString(**frame))
        return make_error(Errc::malformed, "a frame of " + std::to_string((*frame)->size()) + " bytes that is not a Response");
      return response;
    }
    std::array<char, 64 * 1024> chunk;
    const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n > 0) {
      decoder_.feed(std::span<const char>(chunk.data(), static_cast<std::size_t>(n)));
      continue;
    }
    if (n == 0) return make_error(Errc::io_error, "the application closed the connection");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return make_error(Errc::io_error, "receiving failed: " + errno_text(errno));
    if (!wait_ready(fd_, POLLIN, deadline))
      return make_error(Errc::io_error, "no answer within " + std::to_string(options_.call_timeout.count()) + " ms");
  }
}

Result<Response> Connection::exchange(const Request& request) {
  const auto deadline = Clock::now() + options_.call_timeout;
  std::string bytes;
  append_frame(bytes, request.SerializeAsString());
  Request flush;
  flush.mutable_flush();
  append_frame(bytes, flush.SerializeAsString());
  if (auto sent = send_all(bytes, deadline); !sent) return sent.error();

  auto answer = receive(deadline);
  if (!answer) return answer.error();
  if (answer->has_exception())
    return make_error(Errc::invalid_argument, "the application answered with an Exception: " + answer->exception().error());
  const Response::ValueCase expected = answer_case(request.value_case());
  if (answer->value_case() != expected)
    return make_error(Errc::malformed, std::string("the application answered with ") + case_name(answer->value_case()) +
                                           " where " + case_name(expected) + " was due");
  auto flushed = receive(deadline);
  if (!flushed) return flushed.error();
  if (!flushed->has_flush())
    return make_error(Errc::malformed, std::string("the application answered the Flush with ") +
                                           case_name(flushed->value_case()));
  if (decoder_.buffered() != 0)
    return make_error(Errc::malformed, "the application sent more than the answers to the request and its Flush");
  return answer;
}

Result<Response> Connection::call(const Request& request, std::string_view method) {
  const std::lock_guard lock(mutex_);
  if (!broken_) {
    auto answer = exchange(request);
    if (answer) return answer;
    broken_ = answer.error();
  }
  return make_error(broken_->code, "ABCI " + std::string(method) + " on the " + name_ + " connection: " +
                                       broken_->message);
}

}  // namespace bft::abci
