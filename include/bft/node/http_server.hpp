// The client endpoint of bft-node: a small HTTP/1.1 server on the node's io_context.
//
// It parses and serves; what a route does is the node's Handler. Supported: keep-alive
// (HTTP/1.1 default; HTTP/1.0 with "Connection: keep-alive"), pipelined requests answered
// in order, Content-Length bodies. Refused, with a short text body and the connection
// closed after the answer: a malformed request line or header (400), a body above
// max_body_bytes (413), a request line plus headers above max_header_bytes (431), a
// Transfer-Encoding (501: no chunked bodies), an HTTP version other than 1.0/1.1 (505).
// Connections above max_connections are closed at once. A connection must complete each
// request within idle_timeout of connecting or of its previous answer, else it is closed:
// idle keep-alive clients and slow senders cannot hold connections forever.
// The path is passed as sent: routes match it raw, and a route that carries a name (a
// key) decodes that part with percent_decode().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bft/result.hpp"

namespace asio {
class io_context;
}

namespace bft::node {

struct HttpRequest {
  std::string method;  // as sent: "GET", "POST", ...
  std::string path;    // the request target up to '?'
  std::string query;   // after '?', without it; empty if none
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// Called on the io_context's thread, once per request, in arrival order per connection.
/// An exception escaping it becomes a 500 (the node keeps running).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpLimits {
  std::size_t max_header_bytes = 8 << 10;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_connections = 1024;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
};

/// "Not Found" for 404 and so on; "Unknown" for codes the server does not name.
const char* reason_phrase(int status) noexcept;

/// RFC 3986 percent-decoding: "%2F" -> "/". nullopt for a '%' not followed by two hex
/// digits. '+' stays '+' (it means a space only in form bodies, not in paths).
std::optional<std::string> percent_decode(std::string_view text);

/// Move-only handle. stop() (also run by the destructor) closes the listener and every
/// connection; handlers still queued on the io_context then finish harmlessly, so the
/// server may be destroyed while the io_context still holds work for it.
class HttpServer {
 public:
  /// Listens on host:port (an IP address; port 0 picks a free one). io_error if the
  /// address does not parse or cannot be bound; invalid_argument for zero limits.
  static Result<HttpServer> create(asio::io_context& io, const std::string& host, std::uint16_t port,
                                   HttpHandler handler, HttpLimits limits = {});

  HttpServer(HttpServer&&) noexcept;
  HttpServer& operator=(HttpServer&&) noexcept;
  ~HttpServer();

  std::uint16_t local_port() const noexcept;
  /// Open connections (for tests and the node's status).
  std::size_t connections() const noexcept;
  void stop();

  struct State;  // defined in http_server.cpp, where its connections need to name it

 private:
  explicit HttpServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace bft::node
