#include "bft/node/http_server.hpp"

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <cctype>
#include <exception>
#include <optional>
#include <string_view>
#include <unordered_set>

namespace bft::node {

namespace {

using asio::ip::tcp;

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }
/// Header values: visible characters, spaces, tabs and (opaque) bytes above 0x7f.
bool is_field_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}
bool is_target_char(char c) { return c > ' ' && c < 0x7f; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// One step of reading a request from the bytes received so far.
struct Parsed {
  enum class Kind { need_more, request, refuse } kind = Kind::need_more;
  HttpRequest request;
  bool keep_alive = false;
  std::size_t consumed = 0;  // bytes of the request, headers and body
  int status = 0;            // for refuse
  std::string why;
};

Parsed refuse(int status, std::string why) {
  Parsed p;
  p.kind = Parsed::Kind::refuse;
  p.status = status;
  p.why = std::move(why);
  return p;
}

/// Lines end in CRLF or, leniently, in LF alone (RFC 9112, 2.2).
std::optional<std::string_view> next_line(std::string_view in, std::size_t& pos) {
  const std::size_t lf = in.find('\n', pos);
  if (lf == std::string_view::npos) return std::nullopt;
  std::string_view line = in.substr(pos, lf - pos);
  if (line.ends_with('\r')) line.remove_suffix(1);
  pos = lf + 1;
  return line;
}

std::optional<Parsed> check_request_line(std::string_view line, Parsed& out, bool& http11) {
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return refuse(400, "the request line is not 'METHOD /path HTTP/1.1'");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return refuse(400, "a bad method");
  if (!target.starts_with('/') || !std::all_of(target.begin(), target.end(), is_target_char))
    return refuse(400, "the target is not a path starting with '/'");
  if (version == "HTTP/1.1") {
    http11 = true;
  } else if (version == "HTTP/1.0") {
    http11 = false;
  } else if (version.size() == 8 && version.starts_with("HTTP/") && std::isdigit(static_cast<unsigned char>(version[5])) &&
             version[6] == '.' && std::isdigit(static_cast<unsigned char>(version[7]))) {
    return refuse(505, "only HTTP/1.0 and HTTP/1.1 are served");
  } else {
    return refuse(400, "a bad HTTP version");
  }
  out.request.method = std::string(method);
  const std::size_t question = target.find('?');
  out.request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) out.request.query = std::string(target.substr(question + 1));
  return std::nullopt;
}

Parsed parse_request(std::string_view in, const HttpLimits& limits) {
  Parsed out;
  std::size_t pos = 0;
  const auto request_line = next_line(in, pos);
  if (!request_line) {
    if (in.size() > limits.max_header_bytes) return refuse(431, "the request line is too long");
    return out;
  }
  bool http11 = true;
  if (auto refused = check_request_line(*request_line, out, http11)) return std::move(*refused);

  std::optional<std::uint64_t> content_length;
  bool close = false;
  bool keep_alive = false;
  while (true) {
    const auto line = next_line(in, pos);
    if (pos > limits.max_header_bytes || (!line && in.size() > limits.max_header_bytes))
      return refuse(431, "the request line and headers exceed " + std::to_string(limits.max_header_bytes) + " bytes");
    if (!line) return out;
    if (line->empty()) break;
    const std::size_t colon = line->find(':');
    if (colon == std::string_view::npos || !is_token(line->substr(0, colon)))
      return refuse(400, "a header line is not 'Name: value'");
    const std::string_view name = line->substr(0, colon);
    const std::string_view value = trim(line->substr(colon + 1));
    if (!std::all_of(value.begin(), value.end(), is_field_char)) return refuse(400, "a control character in a header");
    if (iequals(name, "Content-Length")) {
      if (value.empty() || value.size() > 18 || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return refuse(400, "a bad Content-Length");
      std::uint64_t length = 0;
      for (char c : value) length = length * 10 + static_cast<std::uint64_t>(c - '0');
      if (content_length && *content_length != length) return refuse(400, "conflicting Content-Length headers");
      content_length = length;
    } else if (iequals(name, "Transfer-Encoding")) {
      return refuse(501, "Transfer-Encoding is not supported: send a Content-Length body");
    } else if (iequals(name, "Connection")) {
      std::string_view tokens = value;
      while (!tokens.empty()) {
        const std::size_t comma = tokens.find(',');
        const std::string_view token = trim(tokens.substr(0, comma));
        close = close || iequals(token, "close");
        keep_alive = keep_alive || iequals(token, "keep-alive");
        tokens.remove_prefix(comma == std::string_view::npos ? tokens.size() : comma + 1);
      }
    }
  }
  const std::uint64_t body_size = content_length.value_or(0);
  if (body_size > limits.max_body_bytes)
    return refuse(413, "the body of " + std::to_string(body_size) + " bytes exceeds " +
                           std::to_string(limits.max_body_bytes));
  if (in.size() - pos < body_size) return out;
  out.request.body = std::string(in.substr(pos, static_cast<std::size_t>(body_size)));
  out.consumed = pos + static_cast<std::size_t>(body_size);
  out.keep_alive = !close && (http11 || keep_alive);
  out.kind = Parsed::Kind::request;
  return out;
}

std::string serialize(HttpResponse response, bool head, bool keep_alive) {
  if (response.status < 100 || response.status > 599) response = HttpResponse{500, {}, "bad status from the handler\n"};
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
  if (!response.content_type.empty()) out += "Content-Type: " + response.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  // A HEAD answer announces the body's length but must not carry it, or the next
  // response on the connection would be misread.
  if (!head) out += response.body;
  return out;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  const auto hex_value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

const char* reason_phrase(int status) noexcept {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

class Connection;

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
  State(asio::io_context& context, HttpHandler h, HttpLimits l)
      : io(context), acceptor(context), retry(context), handler(std::move(h)), limits(l) {}

  void accept();
  void stop();

  asio::io_context& io;
  tcp::acceptor acceptor;
  asio::steady_timer retry;  // after an accept error such as EMFILE, instead of spinning
  HttpHandler handler;
  HttpLimits limits;
  std::uint16_t port = 0;
  bool stopped = false;
  // Each connection adds itself when it starts and removes itself in its destructor,
  // which runs while it still holds the state alive.
  std::unordered_set<Connection*> connections;
};

namespace {

/// Bytes a refused connection may still send (e.g. the oversized body) that are read and
/// dropped before closing, so that closing does not reset the connection before the
/// client has read the answer.
constexpr std::size_t max_drain_bytes = std::size_t{4} << 20;
constexpr auto max_drain_time = std::chrono::seconds(2);

}  // namespace

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<HttpServer::State> server, tcp::socket socket)
      : server_(std::move(server)), socket_(std::move(socket)), timer_(server_->io) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { server_->connections.erase(this); }

  void start() {
    server_->connections.insert(this);
    arm_timer(server_->limits.idle_timeout);
    read_more();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    timer_.cancel();
  }

 private:
  void arm_timer(std::chrono::milliseconds after) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->close();
    });
  }

  void read_more() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      if (ec || self->closed_) return self->close();
      self->in_.append(self->chunk_.data(), n);
      self->process();
    });
  }

  void process() {
    Parsed parsed = parse_request(in_, server_->limits);
    switch (parsed.kind) {
      case Parsed::Kind::need_more:
        return read_more();
      case Parsed::Kind::refuse:
        return respond(HttpResponse{parsed.status, "text/plain; charset=utf-8",
                                    std::string(reason_phrase(parsed.status)) + ": " + parsed.why + "\n"},
                       false, false);
      case Parsed::Kind::request:
        break;
    }
    in_.erase(0, parsed.consumed);
    HttpResponse response;
    try {
      response = server_->handler(parsed.request);
    } catch (const std::exception& e) {
      response = HttpResponse{500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"};
    } catch (...) {
      response = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n"};
    }
    respond(std::move(response), parsed.request.method == "HEAD", parsed.keep_alive);
  }

  void respond(HttpResponse response, bool head, bool keep_alive) {
    out_ = serialize(std::move(response), head, keep_alive);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), keep_alive](const asio::error_code& ec, std::size_t) {
                        if (ec || self->closed_) return self->close();
                        if (!keep_alive) return self->finish();
                        self->arm_timer(self->server_->limits.idle_timeout);
                        self->process();  // a pipelined request may already be buffered
                      });
  }

  /// Ends the connection after a last answer: stop sending, then read and drop what the
  /// client still sends until it closes (bounded in bytes and time).
  void finish() {
    asio::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    arm_timer(std::min<std::chrono::milliseconds>(server_->limits.idle_timeout, max_drain_time));
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->closed_ || self->drained_ > max_drain_bytes) return self->close();
      self->drain();
    });
  }

  std::shared_ptr<HttpServer::State> server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::array<char, 16 << 10> chunk_{};
  std::string in_;   // received and not yet answered
  std::string out_;  // the response being written
  std::size_t drained_ = 0;
  bool closed_ = false;
};

void HttpServer::State::accept() {
  acceptor.async_accept([self = shared_from_this()](const asio::error_code& ec, tcp::socket socket) {
    if (self->stopped) return;
    if (ec) {
      self->retry.expires_after(std::chrono::milliseconds(100));
      self->retry.async_wait([self](const asio::error_code& wait_error) {
        if (!wait_error && !self->stopped) self->accept();
      });
      return;
    }
    if (self->connections.size() >= self->limits.max_connections) {
      asio::error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Connection>(self, std::move(socket))->start();
    }
    self->accept();
  });
}

void HttpServer::State::stop() {
  if (stopped) return;
  stopped = true;
  asio::error_code ignored;
  acceptor.close(ignored);
  retry.cancel();
  // close() never destroys a connection (its pending handlers hold it), so the set does
  // not change while it is walked.
  for (Connection* connection : connections) connection->close();
}

Result<HttpServer> HttpServer::create(asio::io_context& io, const std::string& host, std::uint16_t port,
                                      HttpHandler handler, HttpLimits limits) {
  if (!handler) return make_error(Errc::invalid_argument, "http: no handler");
  if (limits.max_header_bytes == 0 || limits.max_connections == 0 || limits.idle_timeout.count() <= 0)
    return make_error(Errc::invalid_argument, "http: header limit, connection limit and idle timeout must be positive");
  asio::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) return make_error(Errc::io_error, "http: '" + host + "' is not an IP address: " + ec.message());
  auto state = std::make_shared<State>(io, std::move(handler), limits);
  const tcp::endpoint endpoint(address, port);
  const auto fail = [&](const char* step) {
    return make_error(Errc::io_error, std::string("http: ") + step + " " + host + ":" + std::to_string(port) + ": " +
                                          ec.message());
  };
  if (state->acceptor.open(endpoint.protocol(), ec)) return fail("open");
  if (state->acceptor.set_option(tcp::acceptor::reuse_address(true), ec)) return fail("set SO_REUSEADDR on");
  if (state->acceptor.bind(endpoint, ec)) return fail("bind");
  if (state->acceptor.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen on");
  const tcp::endpoint bound = state->acceptor.local_endpoint(ec);
  if (ec) return fail("read the address of");
  state->port = bound.port();
  state->accept();
  return HttpServer(std::move(state));
}

HttpServer::HttpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
HttpServer::HttpServer(HttpServer&&) noexcept = default;
HttpServer& HttpServer::operator=(HttpServer&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}
HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::local_port() const noexcept { return state_ ? state_->port : 0; }
std::size_t HttpServer::connections() const noexcept { return state_ ? state_->connections.size() : 0; }
void HttpServer::stop() {
  if (state_) state_->stop();
}

}  // namespace bft::node
