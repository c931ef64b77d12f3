#include "bft/node/http_server.hpp"

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __linux__
#include <sys/resource.h>
#include <unistd.h>
#endif

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

/// One step of reading a request's head (request line and headers) from the bytes
/// received so far; its body is read after it.
struct Parsed {
  enum class Kind { need_more, head, refuse } kind = Kind::need_more;
  HttpRequest request;  // without the body
  bool keep_alive = false;
  std::size_t head_bytes = 0;  // of the request line and headers, blank line included
  std::size_t body_bytes = 0;  // Content-Length
  int status = 0;              // for refuse
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

Parsed parse_head(std::string_view in, const HttpLimits& limits) {
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
    if (!line) return Parsed{};
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
    } else if (iequals(name, "Content-Type")) {
      out.request.content_type = std::string(value);
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
  out.head_bytes = pos;
  out.body_bytes = static_cast<std::size_t>(body_size);
  out.keep_alive = !close && (http11 || keep_alive);
  out.kind = Parsed::Kind::head;
  return out;
}

/// The status line and headers of `response`; a status out of range becomes a 500.
std::string response_head(HttpResponse& response, bool keep_alive) {
  if (response.status < 100 || response.status > 599) response = HttpResponse{500, {}, "bad status from the handler\n"};
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
  if (!response.content_type.empty()) out += "Content-Type: " + response.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  return out;
}

HttpResponse refusal(int status, std::string_view why) {
  return HttpResponse{status, "text/plain; charset=utf-8", std::string(reason_phrase(status)) + ": " + std::string(why) + "\n"};
}

/// A whole answer for a connection refused at accept, made once.
std::string refusal_bytes(int status, std::string_view why) {
  HttpResponse response = refusal(status, why);
  return response_head(response, false) + response.body;
}

/// Frees a string's heap buffer: clear() and move-assigning from a short string keep it.
void release(std::string& s) { std::string().swap(s); }

/// The bytes a string holds on the heap: none while short enough to live inside it.
std::size_t heap_bytes(const std::string& s) {
  constexpr std::size_t inline_capacity = std::string().capacity();
  return s.capacity() > inline_capacity ? s.capacity() : 0;
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

HttpLater::HttpLater(std::chrono::milliseconds timeout, Answer on_timeout)
    : timeout_(timeout), on_timeout_(std::move(on_timeout)) {}

void HttpLater::complete(Answer answer) {
  std::function<void(Answer)> deliver;
  {
    const std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = true;
    if (!deliver_) {
      answer_ = std::move(answer);
      return;
    }
    deliver = deliver_;
  }
  deliver(std::move(answer));
}

void HttpLater::expire() {
  Answer on_timeout;
  {
    const std::lock_guard lock(mutex_);
    if (done_) return;
    on_timeout = std::move(on_timeout_);
  }
  complete(std::move(on_timeout));
}

void HttpLater::attach(std::function<void(Answer)> deliver) {
  std::optional<Answer> ready;
  {
    const std::lock_guard lock(mutex_);
    deliver_ = deliver;
    ready = std::exchange(answer_, std::nullopt);
  }
  if (ready) deliver(std::move(*ready));
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

namespace {

using Clock = std::chrono::steady_clock;

/// A token bucket kept as the moment it will be full again: at `now` it holds
/// burst - rate x (full_at - now) tokens, below zero after charges beyond them.
struct CostBucket {
  Clock::time_point full_at{};

  /// The first moment it holds a whole token, for a bucket that takes `rest` to refill
  /// the tokens beyond the first (burst - 1).
  Clock::time_point token_at(Clock::duration rest) const { return full_at - rest; }
  bool full(Clock::time_point now) const { return full_at <= now; }
  void charge(Clock::duration refill, Clock::time_point now) { full_at = std::max(full_at, now) + refill; }
};

/// The time a bucket refilled at `per_second` takes to regain `cost`.
Clock::duration refill_time(std::uint64_t cost, std::uint32_t per_second) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(cost * 1'000'000'000 / per_second));
}

/// One request adds at most this much to a bucket's refill, so that debts added by
/// connections at once stay far from the clock's range whatever costs a handler sets.
constexpr auto max_charge = std::chrono::hours(1);
/// The client table is swept of idle full buckets whenever it doubles beyond this.
constexpr std::size_t min_client_sweep = 64;

}  // namespace

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
  State(HttpHandler h, HttpLimits l)
      : acceptor(asio::make_strand(io)),
        retry(acceptor.get_executor()),
        handler(std::move(h)),
        limits(l),
        client_rest(refill_time(l.client_cost_burst - 1, l.client_cost_per_second)),
        total_rest(refill_time(l.total_cost_burst - 1, l.total_cost_per_second)) {}

  /// What the server keeps per client address: its connections and its cost bucket.
  struct Client {
    std::size_t connections = 0;
    CostBucket bucket;
  };

  void run();
  void accept();
  void admit(tcp::socket socket);
  void stop();
  void forget(Connection* connection, const asio::ip::address& client);

  /// When the next request of `client` may be read: both its and the total bucket hold a token.
  Clock::time_point ready_at(const Client& client);
  void charge(Client& client, std::uint32_t cost);
  /// Under `mutex`: drops the entry if nothing needs it (no connection, a full bucket).
  void drop_if_unused(std::map<asio::ip::address, Client>::iterator it, Clock::time_point now);

  /// Adds `bytes` to the buffered total; false, adding nothing, if `enforce` and the
  /// total would exceed the budget.
  bool reserve(std::size_t bytes, bool enforce);
  void unreserve(std::size_t bytes);
  /// Response bytes being written: not budgeted (handlers bound them), but part of what
  /// an attack can make the server hold, so part of when to give memory back.
  void responding(std::size_t bytes);
  void responded(std::size_t bytes);
  void trim_if_idle();

  asio::io_context io;  // first: destroyed last, after everything that uses it
  tcp::acceptor acceptor;     // on a strand of its own: stop() reaches it from outside
  asio::steady_timer retry;   // after an accept error such as EMFILE, instead of spinning
  HttpHandler handler;
  HttpLimits limits;
  std::uint16_t port = 0;
  bool stopped = false;  // on the acceptor's strand
  std::vector<std::thread> threads;
  std::mutex stop_mutex;  // one stop() joins at a time

  // Each connection is added on admission and removes itself in its destructor, which
  // runs while it still holds the state alive.
  std::mutex mutex;
  std::unordered_set<Connection*> connections;
  // Kept while a client has a connection or a bucket not yet full: reconnecting does not refill it.
  std::map<asio::ip::address, Client> clients;
  std::size_t sweep_above = min_client_sweep;
  CostBucket total_bucket;
  const Clock::duration client_rest;  // the time a bucket takes to refill all but one token
  const Clock::duration total_rest;

  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused_total{0};
  std::atomic<std::uint64_t> refused_client{0};
  std::atomic<std::uint64_t> refused_memory{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> throttled{0};
  std::atomic<std::size_t> buffered{0};
  std::atomic<std::size_t> writing{0};
  std::atomic<std::size_t> open{0};
  std::atomic<bool> trim_due{false};  // buffered + writing went above trim_threshold since the last trim
};

namespace {

/// Bytes a refused connection may still send (e.g. the oversized body) that are read and
/// dropped before closing, so that closing does not reset the connection before the
/// client has read the answer.
constexpr std::size_t max_drain_bytes = std::size_t{4} << 20;
constexpr auto max_drain_time = std::chrono::seconds(2);
/// A read buffer holding pipelined bytes is shrunk after a request if larger than this.
constexpr std::size_t retained_buffer_bytes = 4 << 10;
/// Held bytes above which the next fall to zero returns freed memory to the system.
constexpr std::size_t trim_threshold = 1 << 20;

/// Clients are counted per address; IPv6 ones per /64, the block a single subscriber
/// usually holds, and IPv4-mapped ones as the IPv4 address they are.
asio::ip::address client_key(const asio::ip::address& address) {
  if (!address.is_v6()) return address;
  const asio::ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
  asio::ip::address_v6::bytes_type bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), static_cast<unsigned char>(0));
  return asio::ip::address_v6(bytes);
}

/// Answers and closes a connection refused at accept: one non-blocking write of a short
/// answer into the empty send buffer of a new socket, no reading, no state kept.
void refuse_at_once(tcp::socket& socket, const std::string& answer) {
  asio::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(answer), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace

/// One client connection. Its handlers run on its own strand, so with several threads
/// each connection is still served one step at a time.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<HttpServer::State> server, tcp::socket socket, asio::ip::address client,
             HttpServer::State::Client& budget)
      : server_(std::move(server)),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        client_(client),
        budget_(&budget) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    // The buffers go before their bytes are uncharged: the fall to zero may trim the heap.
    release(in_);
    release(request_.body);
    release(out_head_);
    release(out_body_);
    server_->unreserve(charged_);
    server_->responded(writing_);
    server_->forget(this, client_);
  }

  tcp::socket::executor_type executor() { return socket_.get_executor(); }

  void start() { wait_for_budget(); }

  void close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    timer_.cancel();
    // A later answer's timeout releases what it waits for, even with no one to tell.
    if (later_) std::exchange(later_, nullptr)->expire();
  }

 private:
  /// One timer serves every phase; a generation tells a stale expiry (one already queued
  /// when the timer was re-armed) from the current one.
  void arm_timer(std::chrono::milliseconds after, bool counts_as_timeout) {
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), generation, counts_as_timeout](const asio::error_code& ec) {
      if (ec || generation != self->timer_generation_ || self->closed_) return;
      if (counts_as_timeout) ++self->server_->timeouts;
      self->close();
    });
  }

  /// Moves this connection's share of the buffer budget to `bytes`. Growing fails,
  /// changing nothing, if `enforce` and the budget has no room.
  bool charge(std::size_t bytes, bool enforce) {
    if (bytes > charged_) {
      if (!server_->reserve(bytes - charged_, enforce)) return false;
    } else {
      server_->unreserve(charged_ - bytes);
    }
    charged_ = bytes;
    return true;
  }
  void settle() { charge(heap_bytes(in_) + heap_bytes(request_.body), false); }

  void read_more() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      if (ec || self->closed_) return self->close();
      self->received(n);
    });
  }

  void received(std::size_t n) {
    if (in_.empty()) arm_timer(server_->limits.request_timeout, true);  // a request's first byte
    if (in_.size() + n > in_.capacity()) {
      // Grown by hand to a size charged beforehand; std::string would pick its own.
      const std::size_t capacity = std::max(in_.size() + n, 2 * in_.capacity());
      if (!charge(capacity + heap_bytes(request_.body), true)) return refuse_for_memory();
      in_.reserve(capacity);
      settle();
    }
    in_.append(chunk_.data(), n);
    process();
  }

  void process() {
    Parsed parsed = parse_head(in_, server_->limits);
    switch (parsed.kind) {
      case Parsed::Kind::need_more:
        return read_more();
      case Parsed::Kind::refuse:
        return respond(refusal(parsed.status, parsed.why), false, false);
      case Parsed::Kind::head:
        break;
    }
    const std::size_t size = parsed.body_bytes;
    if (!charge(heap_bytes(in_) + size, true)) return refuse_for_memory();
    request_ = std::move(parsed.request);
    keep_alive_ = parsed.keep_alive;
    request_.body.resize(size);
    const std::size_t have = std::min(in_.size() - parsed.head_bytes, size);
    std::copy_n(in_.data() + parsed.head_bytes, have, request_.body.data());
    in_.erase(0, parsed.head_bytes + have);
    if (in_.empty()) release(in_);
    settle();
    if (have == size) return serve();
    // The rest of the body goes straight into its buffer, and nothing after it is read.
    asio::async_read(socket_, asio::buffer(request_.body.data() + have, size - have),
                     [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
                       if (ec || self->closed_) return self->close();
                       self->serve();
                     });
  }

  void serve() {
    HttpResponse response;
    try {
      response = server_->handler(request_);
    } catch (const std::exception& e) {
      response = HttpResponse{500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"};
    } catch (...) {
      response = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n"};
    }
    ++server_->requests;
    head_request_ = request_.method == "HEAD";
    {
      // Moving out takes the buffers, freed here; assigning an empty request would keep them.
      const HttpRequest done = std::move(request_);
      request_ = HttpRequest{};
    }
    settle();
    if (response.later) return await(std::move(response.later));
    respond(std::move(response), head_request_, keep_alive_);
  }

  /// Waits for a later answer: no reading, no request or idle timeout, only its own.
  void await(std::shared_ptr<HttpLater> later) {
    later_ = later;
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_after(later->timeout());
    timer_.async_wait([self = shared_from_this(), generation](const asio::error_code& ec) {
      if (ec || generation != self->timer_generation_ || self->closed_ || !self->later_) return;
      self->later_->expire();
    });
    later->attach([weak = weak_from_this()](HttpLater::Answer answer) {
      const auto self = weak.lock();
      // Gone: the answer still runs (what it holds is released), unsent.
      if (!self) return static_cast<void>(answer());
      asio::post(self->executor(), [self, answer = std::move(answer)] {
        HttpResponse response = answer();
        if (self->closed_ || !self->later_) return;
        self->later_.reset();
        response.later.reset();
        self->respond(std::move(response), self->head_request_, self->keep_alive_);
      });
    });
  }

  void refuse_for_memory() {
    ++server_->refused_memory;
    respond(refusal(503, "the server's request buffers are full; retry later"), false, false);
  }

  void respond(HttpResponse response, bool head, bool keep_alive) {
    // Charged once the work is done; every request is some work, whatever the handler says.
    server_->charge(*budget_, std::max<std::uint32_t>(response.cost, 1));
    out_head_ = response_head(response, keep_alive);
    // A HEAD answer announces the body's length but must not carry it, or the next
    // response on the connection would be misread.
    out_body_ = head ? std::string() : std::move(response.body);
    writing_ = heap_bytes(out_head_) + heap_bytes(out_body_);
    server_->responding(writing_);
    arm_timer(server_->limits.write_timeout, true);
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(out_head_), asio::buffer(out_body_)};
    asio::async_write(socket_, buffers, [self = shared_from_this(), keep_alive](const asio::error_code& ec, std::size_t) {
      release(self->out_head_);
      release(self->out_body_);
      self->server_->responded(std::exchange(self->writing_, 0));
      if (ec || self->closed_) return self->close();
      if (!keep_alive) return self->finish();
      self->next_request();
    });
  }

  void next_request() {
    // An idle connection holds no buffer, and pipelined leftovers keep no more than they need.
    if (in_.empty()) {
      release(in_);
    } else if (in_.capacity() > retained_buffer_bytes) {
      std::string(in_).swap(in_);  // a copy holds only what is left
    }
    settle();
    wait_for_budget();
  }

  /// The next request is read, or taken from pipelined bytes, only once the client's and
  /// the total cost buckets hold a token. Until then the connection reads nothing, so TCP
  /// flow control holds the client back, and runs no timeout: they start afresh after.
  void wait_for_budget() {
    const Clock::time_point ready = server_->ready_at(*budget_);
    if (ready > Clock::now()) return pause_until(ready);
    if (std::exchange(paused_, false)) {
      // A request waited if its bytes are here or in the socket; an idle connection did not.
      asio::error_code ignored;
      if (!in_.empty() || socket_.available(ignored) > 0) ++server_->throttled;
    }
    // Pipelined bytes already here are a request that has begun.
    if (in_.empty()) {
      arm_timer(server_->limits.idle_timeout, true);
    } else {
      arm_timer(server_->limits.request_timeout, true);
    }
    process();
  }

  void pause_until(Clock::time_point when) {
    paused_ = true;
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_at(when);
    timer_.async_wait([self = shared_from_this(), generation](const asio::error_code& ec) {
      if (ec || generation != self->timer_generation_ || self->closed_) return;
      self->wait_for_budget();  // another connection of the client may have spent the tokens
    });
  }

  /// Ends the connection after a last answer: stop sending, then read and drop what the
  /// client still sends until it closes (bounded in bytes and time).
  void finish() {
    release(in_);
    settle();
    asio::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    arm_timer(std::min<std::chrono::milliseconds>(server_->limits.idle_timeout, max_drain_time), false);
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
  asio::ip::address client_;
  HttpServer::State::Client* budget_;  // its entry in the server's client table, under its mutex
  std::array<char, 4 << 10> chunk_{};
  std::string in_;        // received and not yet answered, up to a request's body
  HttpRequest request_;   // the request whose body is being read or that is being served
  bool keep_alive_ = false;
  bool head_request_ = false;
  std::shared_ptr<HttpLater> later_;  // the answer being waited for
  std::size_t charged_ = 0;  // bytes of in_ and request_.body counted in the budget
  std::string out_head_;  // the response being written
  std::string out_body_;
  std::size_t writing_ = 0;  // their heap bytes, counted in the server's writing gauge
  std::uint64_t timer_generation_ = 0;
  std::size_t drained_ = 0;
  bool paused_ = false;  // waiting for the cost buckets
  bool closed_ = false;
};

void HttpServer::State::run() {
#ifdef __linux__
  if (limits.nice_increment != 0) {
    // On Linux the nice value is per thread: this lowers the priority of this one only.
    const auto tid = static_cast<id_t>(gettid());
    errno = 0;
    const int current = getpriority(PRIO_PROCESS, tid);
    if (current != -1 || errno == 0) (void)setpriority(PRIO_PROCESS, tid, current + limits.nice_increment);
  }
#endif
  io.run();
}

void HttpServer::State::accept() {
  acceptor.async_accept(asio::make_strand(io), [this](const asio::error_code& ec, tcp::socket socket) {
    if (stopped) return;
    if (ec) {
      retry.expires_after(std::chrono::milliseconds(100));
      retry.async_wait([this](const asio::error_code& wait_error) {
        if (!wait_error && !stopped) accept();
      });
      return;
    }
    admit(std::move(socket));
    accept();
  });
}

void HttpServer::State::admit(tcp::socket socket) {
  static const std::string busy = refusal_bytes(503, "too many connections");
  static const std::string too_many = refusal_bytes(429, "too many connections from your address");
  asio::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;  // already gone; the socket closes as it goes out of scope
  const asio::ip::address client = client_key(remote.address());
  const Clock::time_point now = Clock::now();
  std::shared_ptr<Connection> connection;
  {
    std::lock_guard lock(mutex);
    const auto [it, inserted] = clients.try_emplace(client);
    if (connections.size() >= limits.max_connections || it->second.connections >= limits.max_connections_per_client) {
      const bool over_total = connections.size() >= limits.max_connections;
      drop_if_unused(it, now);
      ++(over_total ? refused_total : refused_client);
      refuse_at_once(socket, over_total ? busy : too_many);
      return;
    }
    connection = std::make_shared<Connection>(shared_from_this(), std::move(socket), client, it->second);
    connections.insert(connection.get());
    ++it->second.connections;
    open = connections.size();
    if (inserted && clients.size() > sweep_above) {
      // Amortized: the table has at least doubled since the last sweep.
      std::erase_if(clients, [&](const auto& entry) { return entry.second.connections == 0 && entry.second.bucket.full(now); });
      sweep_above = std::max(min_client_sweep, 2 * clients.size());
    }
  }
  ++accepted;
  connection->start();
}

void HttpServer::State::forget(Connection* connection, const asio::ip::address& client) {
  const Clock::time_point now = Clock::now();
  std::lock_guard lock(mutex);
  connections.erase(connection);
  const auto it = clients.find(client);
  if (it != clients.end()) {
    --it->second.connections;
    drop_if_unused(it, now);
  }
  open = connections.size();
}

void HttpServer::State::drop_if_unused(std::map<asio::ip::address, Client>::iterator it, Clock::time_point now) {
  if (it->second.connections == 0 && it->second.bucket.full(now)) clients.erase(it);
}

Clock::time_point HttpServer::State::ready_at(const Client& client) {
  std::lock_guard lock(mutex);
  return std::max(client.bucket.token_at(client_rest), total_bucket.token_at(total_rest));
}

void HttpServer::State::charge(Client& client, std::uint32_t cost) {
  const Clock::duration client_refill = std::min<Clock::duration>(refill_time(cost, limits.client_cost_per_second), max_charge);
  const Clock::duration total_refill = std::min<Clock::duration>(refill_time(cost, limits.total_cost_per_second), max_charge);
  const Clock::time_point now = Clock::now();
  std::lock_guard lock(mutex);
  client.bucket.charge(client_refill, now);
  total_bucket.charge(total_refill, now);
}

bool HttpServer::State::reserve(std::size_t bytes, bool enforce) {
  std::size_t total = buffered.load();
  do {
    if (enforce && total + bytes > limits.max_buffered_bytes) return false;
  } while (!buffered.compare_exchange_weak(total, total + bytes));
  if (total + bytes + writing > trim_threshold) trim_due = true;
  return true;
}

void HttpServer::State::unreserve(std::size_t bytes) {
  if (bytes != 0 && buffered.fetch_sub(bytes) == bytes) trim_if_idle();
}

void HttpServer::State::responding(std::size_t bytes) {
  if (writing.fetch_add(bytes) + bytes + buffered > trim_threshold) trim_due = true;
}

void HttpServer::State::responded(std::size_t bytes) {
  if (bytes != 0 && writing.fetch_sub(bytes) == bytes) trim_if_idle();
}

void HttpServer::State::trim_if_idle() {
  // glibc keeps freed heap pages (and, after large frees, raises its mmap threshold, so
  // later buffers come from the heap too): give them back once an attack's buffers are gone.
  if (buffered == 0 && writing == 0 && trim_due.exchange(false)) {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
  }
}

void HttpServer::State::stop() {
  std::lock_guard stop_lock(stop_mutex);
  if (threads.empty()) return;
  // The listener and each connection are closed on their own strands; with nothing left
  // to wait for, the threads' run() returns.
  asio::post(acceptor.get_executor(), [this] {
    stopped = true;
    asio::error_code ignored;
    acceptor.close(ignored);
    retry.cancel();
    std::vector<std::shared_ptr<Connection>> open_now;
    {
      std::lock_guard lock(mutex);
      // A connection whose destructor already runs (waiting for the lock) is skipped.
      for (Connection* connection : connections)
        if (auto alive = connection->weak_from_this().lock()) open_now.push_back(std::move(alive));
    }
    // Posted, and released, outside the lock: the last reference may run a destructor,
    // which takes the lock.
    for (auto& connection : open_now) asio::post(connection->executor(), [connection] { connection->close(); });
  });
  for (std::thread& thread : threads) thread.join();
  threads.clear();
}

Result<HttpServer> HttpServer::create(const std::string& host, std::uint16_t port, HttpHandler handler,
                                      HttpLimits limits) {
  if (!handler) return make_error(Errc::invalid_argument, "http: no handler");
  if (limits.max_header_bytes == 0 || limits.max_connections == 0 || limits.max_connections_per_client == 0 ||
      limits.max_buffered_bytes == 0 || limits.threads == 0)
    return make_error(Errc::invalid_argument, "http: header, connection, per-client, buffer and thread limits must be positive");
  if (limits.client_cost_per_second == 0 || limits.client_cost_burst == 0 || limits.total_cost_per_second == 0 ||
      limits.total_cost_burst == 0)
    return make_error(Errc::invalid_argument, "http: cost rates and bursts must be positive");
  if (limits.idle_timeout.count() <= 0 || limits.request_timeout.count() <= 0 || limits.write_timeout.count() <= 0)
    return make_error(Errc::invalid_argument, "http: idle, request and write timeouts must be positive");
  asio::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) return make_error(Errc::io_error, "http: '" + host + "' is not an IP address: " + ec.message());
  auto state = std::make_shared<State>(std::move(handler), limits);
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
  state->accept();  // pending until stop(): the threads' run() does not return before
  for (unsigned i = 0; i < limits.threads; ++i) state->threads.emplace_back([raw = state.get()] { raw->run(); });
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
std::size_t HttpServer::connections() const noexcept { return state_ ? state_->open.load() : 0; }
HttpStats HttpServer::stats() const noexcept {
  if (!state_) return {};
  const State& s = *state_;
  return HttpStats{s.requests.load(),       s.accepted.load(), s.refused_total.load(), s.refused_client.load(),
                   s.refused_memory.load(), s.timeouts.load(), s.throttled.load(),     s.buffered.load(),
                   s.writing.load(),        s.open.load()};
}
void HttpServer::stop() {
  if (state_) state_->stop();
}

}  // namespace bft::node
