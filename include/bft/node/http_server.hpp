// The client endpoint of bft-node: a small HTTP/1.1 server on threads of its own.
//
// It parses and serves; what a route does is the node's Handler. Supported: keep-alive
// (HTTP/1.1 default; HTTP/1.0 with "Connection: keep-alive"), pipelined requests answered
// in order, Content-Length bodies. Refused, with a short text body and the connection
// closed after the answer: a malformed request line or header (400), a body above
// max_body_bytes (413), a request line plus headers above max_header_bytes (431), a
// Transfer-Encoding (501: no chunked bodies), an HTTP version other than 1.0/1.1 (505).
// The path is passed as sent: routes match it raw, and a route that carries a name (a
// key) decodes that part with percent_decode().
//
// Threads. The server owns an io_context run by `threads` worker threads, never the
// caller's: a slow or flooded client API cannot stall consensus. Their nice value is
// raised by nice_increment (Linux, per thread), so on a busy machine client work gives
// way to the node's own threads.
//
// Abuse. Every resource a client can make the server hold is bounded:
// - connections: max_connections in total and max_connections_per_client per remote
//   address (IPv6: per /64 prefix, which one host can fill with addresses). One over
//   either limit is answered 503 (total) or 429 (per client) with "Connection: close"
//   and closed at once, without reading a request, so one client at its limit does not
//   keep a second one out;
// - request memory: the bytes buffered for request lines, headers and bodies across all
//   connections stay within max_buffered_bytes (give or take the allocator's rounding of
//   small bodies, at most 15 bytes a connection). A body's buffer is charged in full when
//   its headers arrive, before it is allocated; a request that would take the total over
//   the budget is answered 503 and its connection closed, instead of buffered. A body's
//   buffer is freed once its handler returns, and a connection waiting for its next
//   request holds no read buffer. When the bytes of buffered requests and of responses
//   being written fall back to zero after a peak above 1 MiB, the server returns freed
//   heap pages to the system (glibc malloc_trim), so the node's memory goes back down
//   after an attack;
// - time: idle_timeout between requests on a kept-alive connection (and before the
//   first); request_timeout for a whole request (line, headers and body) from its first
//   byte, so a client trickling bytes (slowloris) cannot hold a connection; write_timeout
//   for writing an answer, so a client that does not read cannot pin it. Each closes the
//   connection without an answer;
// - work: a token bucket per client (keyed as for max_connections_per_client) refilled
//   at client_cost_per_second up to client_cost_burst, and one for all clients together
//   (total_cost_per_second, total_cost_burst). Each request is charged its cost to both
//   once its answer is ready: HttpResponse::cost, which the handler raises for expensive
//   answers (at least 1; a request refused while parsed costs 1), so a bucket may go
//   below zero. While either of a client's buckets holds less than one token, its
//   connections read nothing: a next request, even one already received (pipelined), is
//   read and served only once both hold one again (a timer wakes the connection then).
//   TCP flow control then holds the client back: a flood costs little beyond the budget
//   and gets no error answers to retry. A client's bucket outlives its connections until
//   it is full again, so reconnecting does not refill it. Several connections may pass on
//   the same token: in t seconds a client is served at most burst + rate x t in cost,
//   plus one request per connection it holds. The idle and request timeouts do not run
//   during such a pause; they start afresh after it, so a throttled client is slowed,
//   not closed. The total bucket's trade-off: many addresses flooding together delay
//   every client (never the node); that is the point, the server's work per second is
//   bounded whoever asks. Accepting and refusing connections is not charged.
//
// Memory bound. Beyond the handler's working memory and the threads' stacks, the server
// holds at most
//   max_buffered_bytes
//   + max_connections x (about 6 KiB of connection state and read chunk
//                        + max_header_bytes for the parsed request line of a request
//                          being handled)
//   + the responses being written: at most one per connection, each as large as the
//     handler makes it. Handlers must bound their response bodies (e.g. a page size)
//   + about 100 bytes per client address with a connection or a bucket not yet full
//     again, twice that at most between two sweeps of the table.
// With the defaults and responses of at most 64 KiB: 32 MiB + 256 x (14 KiB + 64 KiB),
// about 52 MiB. Kernel socket buffers come on top and are not the process's memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "bft/result.hpp"

namespace bft::node {

struct HttpRequest {
  std::string method;  // as sent: "GET", "POST", ...
  std::string path;    // the request target up to '?'
  std::string query;   // after '?', without it; empty if none
  std::string body;
  std::string content_type;  // the Content-Type header as sent; empty if none
};

class HttpLater;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;  // bounded by the handler: the server writes it whole
  /// Charged to the client's and the total cost buckets (HttpLimits): raise it for answers
  /// that take more work than a cheap lookup, e.g. in proportion to the bytes read.
  std::uint32_t cost = 1;
  /// Set by a handler that answers later (HttpLater): the server then ignores the rest of
  /// this response and writes nothing on the connection until that answer.
  std::shared_ptr<HttpLater> later = nullptr;
};

/// An answer given later without holding a thread, e.g. once a client's transactions
/// commit. The handler returns an HttpResponse whose `later` is set and keeps the object
/// where the event will find it; the connection then waits, reading nothing, until
/// complete() or the timeout, whichever comes first.
class HttpLater {
 public:
  /// Makes the answer on one of the server's threads.
  using Answer = std::function<HttpResponse()>;

  /// `on_timeout` answers if complete() was not called within `timeout`. It runs also
  /// when the connection closes first (its answer then unsent), so whatever it releases
  /// (a registered wait) is released in every case.
  HttpLater(std::chrono::milliseconds timeout, Answer on_timeout);

  /// Any thread. The first of complete() and the timeout answers; the other is ignored.
  void complete(Answer answer);

  // For the server.
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }
  /// Where the answer goes: called once, from complete()'s thread or the server's.
  void attach(std::function<void(Answer)> deliver);
  /// The timeout (or the connection's end) came first.
  void expire();

 private:
  const std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  Answer on_timeout_;
  bool done_ = false;
  std::optional<Answer> answer_;  // given before attach()
  std::function<void(Answer)> deliver_;
};

/// Called on one of the server's threads, once per request, in arrival order per
/// connection. It must be thread-safe: it runs concurrently with the rest of the node,
/// and with threads > 1 concurrently with itself (for requests on other connections).
/// An exception escaping it becomes a 500 (the server keeps running).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpLimits {
  std::size_t max_header_bytes = 8 << 10;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_connections = 256;
  std::size_t max_connections_per_client = 16;
  std::size_t max_buffered_bytes = 32 << 20;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
  std::chrono::milliseconds request_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds write_timeout = std::chrono::seconds(10);
  /// Request cost per client address (refill per second, bucket size) and for all
  /// clients together; a request costs HttpResponse::cost.
  std::uint32_t client_cost_per_second = 200;
  std::uint32_t client_cost_burst = 200;
  std::uint32_t total_cost_per_second = 2000;
  std::uint32_t total_cost_burst = 2000;
  /// Worker threads. With one, a slow handler call delays the other clients (never the
  /// node's consensus); each connection is served in order on any number of them.
  unsigned threads = 1;
  /// Added to the nice value of each server thread; 0 leaves it. A failure (e.g. a
  /// negative value without the privilege) is ignored.
  int nice_increment = 10;
};

/// Counters since the server started; buffered_bytes and open_connections are gauges.
struct HttpStats {
  std::uint64_t requests = 0;              // requests passed to the handler
  std::uint64_t connections_accepted = 0;  // admitted, not counting the refused
  std::uint64_t refused_total_limit = 0;   // 503 at accept: max_connections open
  std::uint64_t refused_client_limit = 0;  // 429 at accept: max_connections_per_client open
  std::uint64_t refused_memory = 0;        // 503: the request did not fit max_buffered_bytes
  std::uint64_t timeouts = 0;              // closed by the idle, request or write timeout
  std::uint64_t throttled = 0;  // requests that waited for the client's or the total cost bucket
  std::uint64_t buffered_bytes = 0;  // request lines, headers and bodies (the budgeted bytes)
  std::uint64_t response_bytes = 0;  // responses being written
  std::uint64_t open_connections = 0;
};

/// "Not Found" for 404 and so on; "Unknown" for codes the server does not name.
const char* reason_phrase(int status) noexcept;

/// RFC 3986 percent-decoding: "%2F" -> "/". nullopt for a '%' not followed by two hex
/// digits. '+' stays '+' (it means a space only in form bodies, not in paths).
std::optional<std::string> percent_decode(std::string_view text);

/// Move-only handle. stop() (also run by the destructor) closes the listener and every
/// connection and joins the server's threads, after the handler calls in flight return.
/// It must not be called from inside the handler.
class HttpServer {
 public:
  /// Listens on host:port (an IP address; port 0 picks a free one) and starts the
  /// threads. io_error if the address does not parse or cannot be bound;
  /// invalid_argument for a missing handler or a zero limit, timeout, cost rate or burst,
  /// or thread count.
  static Result<HttpServer> create(const std::string& host, std::uint16_t port, HttpHandler handler,
                                   HttpLimits limits = {});

  HttpServer(HttpServer&&) noexcept;
  HttpServer& operator=(HttpServer&&) noexcept;
  ~HttpServer();

  std::uint16_t local_port() const noexcept;
  /// Open connections (for tests and the node's status). Any thread.
  std::size_t connections() const noexcept;
  /// Any thread.
  HttpStats stats() const noexcept;
  void stop();

  struct State;  // defined in http_server.cpp, where its connections need to name it

 private:
  explicit HttpServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace bft::node
