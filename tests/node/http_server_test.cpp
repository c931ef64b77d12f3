// The HTTP endpoint, driven by raw asio clients on loopback. The server runs on its own
// threads; the clients share one io_context on the test's thread, and every wait runs it
// until a condition holds, with a deadline that only a broken server or test reaches.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <atomic>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "bft/node/http_server.hpp"

namespace bft::node {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto deadline = std::chrono::seconds(20);

template <class Predicate>
bool run_until(asio::io_context& io, Predicate done) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    if (io.run_one_for(std::chrono::milliseconds(50)) == 0) {
      // Out of work (the clients wait on nothing): the condition is the server's to meet.
      io.restart();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return true;
}

/// Resident memory of this process.
std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool under_asan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool under_asan = true;
#else
constexpr bool under_asan = false;
#endif
#else
constexpr bool under_asan = false;
#endif

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

struct ClientOptions {
  const char* source = "127.0.0.1";  // 127/8 is all loopback: other addresses are other clients
  bool read = true;                  // false: a client that never reads its answers
  int receive_buffer = 0;            // SO_RCVBUF if not 0
};

/// A client socket that keeps reading in the background while the io_context runs. Its
/// state is shared with its pending handlers, which may run after the client is gone.
class Client {
 public:
  Client(asio::io_context& io, std::uint16_t port, ClientOptions options = {})
      : io_(&io), state_(std::make_shared<State>(io)) {
    tcp::socket& socket = state_->socket;
    socket.open(tcp::v4());
    if (options.receive_buffer != 0) socket.set_option(asio::socket_base::receive_buffer_size(options.receive_buffer));
    socket.bind(tcp::endpoint(asio::ip::make_address(options.source), 0));
    socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
    if (options.read) read(state_);
  }
  Client(Client&&) = default;
  ~Client() {
    if (!state_) return;
    asio::error_code ignored;
    state_->socket.close(ignored);
  }

  void send(std::string bytes) { send(std::make_shared<const std::string>(std::move(bytes))); }
  /// The same bytes may go out on many clients at once.
  void send(std::shared_ptr<const std::string> bytes) {
    ++state_->writes_pending;
    asio::async_write(state_->socket, asio::buffer(*bytes),
                      [state = state_, bytes](const asio::error_code&, std::size_t) { --state->writes_pending; });
  }

  /// The next complete response; nullopt if the connection ends first.
  std::optional<RawResponse> response() {
    std::optional<RawResponse> out;
    EXPECT_TRUE(run_until(*io_, [&] { return (out = take()).has_value() || state_->eof; })) << "no response in time";
    if (!out) out = take();
    return out;
  }

  /// Runs until the server has closed the connection (read sees EOF or reset).
  bool closed_by_server() { return run_until(*io_, [&] { return state_->eof; }); }
  /// Runs the io_context until every pending write is done.
  void flush() { EXPECT_TRUE(run_until(*io_, [&] { return state_->writes_pending == 0; })); }
  bool eof() const { return state_->eof; }
  const std::string& unread() const { return state_->in; }
  /// Takes the complete responses received so far; returns how many, and counts 200s in `ok`.
  int take_all(int* ok = nullptr) {
    int n = 0;
    while (auto r = take()) {
      ++n;
      if (ok != nullptr && r->status == 200) ++*ok;
    }
    return n;
  }

 private:
  struct State {
    explicit State(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    std::array<char, 4096> chunk{};
    std::string in;
    bool eof = false;
    int writes_pending = 0;
  };

  static void read(const std::shared_ptr<State>& state) {
    state->socket.async_read_some(asio::buffer(state->chunk), [state](const asio::error_code& ec, std::size_t n) {
      if (ec) {
        state->eof = true;
        return;
      }
      state->in.append(state->chunk.data(), n);
      read(state);
    });
  }

  std::optional<RawResponse> take() {
    std::string& in = state_->in;
    const std::size_t end = in.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    RawResponse r;
    r.head = in.substr(0, end + 2);
    r.status = std::stoi(r.head.substr(9, 3));
    std::size_t length = 0;
    if (const std::size_t at = r.head.find("Content-Length: "); at != std::string::npos)
      length = std::stoul(r.head.substr(at + 16));
    if (in.size() - end - 4 < length) return std::nullopt;
    r.body = in.substr(end + 4, length);
    in.erase(0, end + 4 + length);
    return r;
  }

  asio::io_context* io_;
  std::shared_ptr<State> state_;
};

/// Routes: GET /echo answers with what it got; POST /tx answers 202 with the body's size;
/// /boom throws; /big answers 32 MiB; /slow takes 300 ms; /pair waits (bounded) until
/// two handler calls run at once; /costly costs 10; everything else is 404, as the node's
/// router would do.
class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpLimits limits = {}) {
    auto server = HttpServer::create("127.0.0.1", 0, [this](const HttpRequest& r) { return route(r); }, limits);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_.emplace(std::move(*server));
    ASSERT_NE(server_->local_port(), 0);
  }

  HttpResponse route(const HttpRequest& r) {
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(r);
      handler_threads_.push_back(std::this_thread::get_id());
    }
    if (r.path == "/echo" && r.method == "GET") return {200, "text/plain", r.method + " " + r.path + " ? " + r.query};
    if (r.path == "/echo") return {405, "text/plain", "method not allowed\n"};
    if (r.path == "/tx" && r.method == "POST") return {202, "text/plain", "got " + std::to_string(r.body.size())};
    if (r.path == "/boom") throw std::runtime_error("handler failed");
    if (r.path == "/costly") {
      HttpResponse response{200, "text/plain", "costly"};
      response.cost = 10;
      return response;
    }
    if (r.path == "/later") {
      // Answered later: by the test (complete_later()), or at the timeout the query names.
      const auto timeout = r.query.empty() ? std::chrono::milliseconds(60'000) : std::chrono::milliseconds(std::stoi(r.query));
      HttpResponse response;
      response.later = std::make_shared<HttpLater>(timeout, [] { return HttpResponse{202, "text/plain", "timed out"}; });
      std::lock_guard lock(mutex_);
      later_ = response.later;
      return response;
    }
    if (r.path == "/big") return {200, "text/plain", std::string(std::size_t{32} << 20, 'b')};
    if (r.path == "/slow") {
      ++entered_;
      std::this_thread::sleep_for(300ms);
      ++finished_;
      return {200, "text/plain", "slow"};
    }
    if (r.path == "/pair") {
      const int now = ++inside_;
      const auto until = std::chrono::steady_clock::now() + deadline;
      while (inside_ < 2 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
      int seen = max_inside_;
      while (seen < now && !max_inside_.compare_exchange_weak(seen, now)) {
      }
      return {200, "text/plain", "pair"};
    }
    return {404, "text/plain", "no route " + r.path + "\n"};
  }

  std::vector<HttpRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<std::thread::id> handler_threads() {
    std::lock_guard lock(mutex_);
    return handler_threads_;
  }

  Client client(ClientOptions options = {}) { return Client(io_, server_->local_port(), options); }

  /// `connections` clients from `source`, each sending `count` requests for `target` at once.
  std::vector<std::unique_ptr<Client>> flood(const char* source, int connections, const std::string& target, int count = 400) {
    std::string requests;
    for (int i = 0; i < count; ++i) requests += "GET " + target + " HTTP/1.1\r\n\r\n";
    const auto bytes = std::make_shared<const std::string>(std::move(requests));
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < connections; ++i) {
      clients.push_back(std::make_unique<Client>(io_, server_->local_port(), ClientOptions{.source = source}));
      clients.back()->send(bytes);
    }
    return clients;
  }

  /// Answers received so far by all of `clients`, each of them a 200.
  static int answers(const std::vector<std::unique_ptr<Client>>& clients) {
    int n = 0;
    for (const auto& c : clients) {
      int ok = 0;
      const int got = c->take_all(&ok);
      EXPECT_EQ(ok, got) << "every answer is a 200";
      EXPECT_FALSE(c->eof()) << "throttled, not closed";
      n += got;
    }
    return n;
  }

  /// Runs the clients until `until`.
  void run_till(std::chrono::steady_clock::time_point until) {
    ASSERT_TRUE(run_until(io_, [&] { return std::chrono::steady_clock::now() >= until; }));
  }

  std::shared_ptr<HttpLater> waiting_later() {
    std::lock_guard lock(mutex_);
    return later_;
  }

  std::mutex mutex_;
  std::shared_ptr<HttpLater> later_;
  std::vector<HttpRequest> requests_;
  std::vector<std::thread::id> handler_threads_;
  std::atomic<int> entered_{0};
  std::atomic<int> finished_{0};
  std::atomic<int> inside_{0};
  std::atomic<int> max_inside_{0};
  asio::io_context io_;
  std::optional<HttpServer> server_;  // last: stopped, its threads joined, before the rest goes
};

TEST(PercentDecode, DecodesEscapesAndRefusesBrokenOnes) {
  EXPECT_EQ(percent_decode("plain-key_1"), "plain-key_1");
  EXPECT_EQ(percent_decode("a%2Fb%3fc%25"), "a/b?c%");
  EXPECT_EQ(percent_decode("%41%6a"), "Aj");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode(""), "");
  for (const char* broken : {"%", "%4", "a%", "%zz", "%g1", "x%2"}) EXPECT_EQ(percent_decode(broken), std::nullopt) << broken;
}

TEST_F(HttpServerTest, GetAndPostRoundTrip) {
  start();
  Client c = client();
  c.send("GET /echo?a=1&b=2 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto get = c.response();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "GET /echo ? a=1&b=2");
  EXPECT_NE(get->head.find("Content-Type: text/plain\r\n"), std::string::npos) << get->head;
  EXPECT_NE(get->head.find("Connection: keep-alive\r\n"), std::string::npos) << get->head;

  c.send("POST /tx HTTP/1.1\r\nContent-Length: 11\r\n\r\nset a hello");
  auto post = c.response();
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 202);
  EXPECT_EQ(post->body, "got 11");
  const auto seen = requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].path, "/tx");
  EXPECT_EQ(seen[1].query, "");
  EXPECT_EQ(seen[1].body, "set a hello");
}

TEST_F(HttpServerTest, ALaterAnswerIsWrittenWhenAnotherThreadCompletesIt) {
  start();
  Client c = client();
  c.send("GET /later HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(run_until(io_, [&] { return waiting_later() != nullptr; }));
  std::thread([later = waiting_later()] {
    later->complete([] { return HttpResponse{200, "text/plain", "done"}; });
  }).join();
  auto answer = c.response();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "done");
  // The connection goes on; a second completion (the timeout, say) changes nothing.
  waiting_later()->expire();
  c.send("GET /echo HTTP/1.1\r\n\r\n");
  answer = c.response();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
}

TEST_F(HttpServerTest, ALaterAnswerNotGivenInTimeIsTheTimeoutsAnswer) {
  start();
  Client c = client();
  c.send("GET /later?20 HTTP/1.1\r\n\r\n");
  auto answer = c.response();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 202);
  EXPECT_EQ(answer->body, "timed out");
  // Too late now: ignored.
  waiting_later()->complete([] { return HttpResponse{200, "text/plain", "done"}; });
  c.send("GET /echo HTTP/1.1\r\n\r\n");
  answer = c.response();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->body, "GET /echo ? ");
}

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  start();
  Client c = client();
  for (int i = 0; i < 2; ++i) {
    c.send("GET /echo?n=" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "GET /echo ? n=" + std::to_string(i));
  }
  EXPECT_FALSE(c.eof());
  EXPECT_EQ(server_->connections(), 1u);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  Client c = client();
  c.send("GET /echo?1 HTTP/1.1\r\n\r\nPOST /tx HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /echo?3 HTTP/1.1\r\n\r\n");
  auto first = c.response();
  auto second = c.response();
  auto third = c.response();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->body, "GET /echo ? 1");
  EXPECT_EQ(second->body, "got 3");
  EXPECT_EQ(third->body, "GET /echo ? 3");
}

TEST_F(HttpServerTest, BareLineFeedsAreAccepted) {
  start();
  Client c = client();
  c.send("GET /echo HTTP/1.1\nHost: x\n\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, MalformedRequestsGet400AndTheConnectionCloses) {
  start();
  for (const std::string request :
       {"GARBAGE\r\n\r\n", "GET /echo\r\n\r\n", "GET echo HTTP/1.1\r\n\r\n", "GET /echo HTTP/1.1 extra\r\n\r\n",
        "GET /echo HTTPS/1.1\r\n\r\n", "G(T /echo HTTP/1.1\r\n\r\n", "GET /e\x01 HTTP/1.1\r\n\r\n",
        "GET /echo HTTP/1.1\r\nNo colon here\r\n\r\n", "GET /echo HTTP/1.1\r\n folded: x\r\n\r\n",
        "GET /echo HTTP/1.1\r\nX: a\x01b\r\n\r\n", "POST /tx HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST /tx HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "POST /tx HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST /tx HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"}) {
    Client c = client();
    c.send(request);
    auto r = c.response();
    ASSERT_TRUE(r) << request;
    EXPECT_EQ(r->status, 400) << request << " -> " << r->body;
    EXPECT_TRUE(r->body.starts_with("Bad Request: ")) << r->body;
    EXPECT_NE(r->head.find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(c.closed_by_server()) << request;
  }
  EXPECT_TRUE(requests().empty()) << "the handler never sees a malformed request";
}

TEST_F(HttpServerTest, RequestLineIsRefusedBeforeTheHeadersEnd) {
  start();
  Client c = client();
  c.send("NOT A REQUEST LINE\r\n");  // no blank line: the server must not wait for one
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(HttpServerTest, OversizedBodyGets413EvenWhileTheClientKeepsSending) {
  start();
  Client c = client();
  const std::size_t size = (1 << 20) + 1;
  c.send("POST /tx HTTP/1.1\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n" + std::string(size, 'x'));
  auto r = c.response();
  ASSERT_TRUE(r) << "the answer must arrive, not a reset";
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_TRUE(requests().empty());
}

TEST_F(HttpServerTest, BodyAtTheLimitIsServed) {
  start(HttpLimits{.max_body_bytes = 1000});
  Client c = client();
  c.send("POST /tx HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x'));
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "got 1000");
  c.send("POST /tx HTTP/1.1\r\nContent-Length: 1001\r\n\r\n");
  auto over = c.response();
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);
}

TEST_F(HttpServerTest, HeadersAboveTheLimitGet431) {
  start(HttpLimits{.max_header_bytes = 256});
  Client fits = client();
  fits.send("GET /echo HTTP/1.1\r\nX: " + std::string(200, 'a') + "\r\n\r\n");
  auto ok = fits.response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  Client big = client();
  big.send("GET /echo HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n");
  auto r = big.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(big.closed_by_server());
  Client endless = client();  // a header that never ends
  endless.send("GET /echo HTTP/1.1\r\nX: " + std::string(1000, 'a'));
  auto r2 = endless.response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 431);
  Client long_line = client();
  long_line.send("GET /" + std::string(1000, 'a'));
  auto r3 = long_line.response();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->status, 431);
}

TEST_F(HttpServerTest, ChunkedBodiesGet501AndOtherVersions505) {
  start();
  Client chunked = client();
  chunked.send("POST /tx HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  auto r = chunked.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 501);
  EXPECT_TRUE(chunked.closed_by_server());
  Client v2 = client();
  v2.send("GET /echo HTTP/2.0\r\n\r\n");
  auto r2 = v2.response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 505);
}

TEST_F(HttpServerTest, TheRouteCallbackDecidesUnknownRoutesAndMethods) {
  start();
  Client c = client();
  c.send("GET /nowhere?x HTTP/1.1\r\n\r\n");
  auto missing = c.response();
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->head.find("HTTP/1.1 404 Not Found\r\n"), std::string::npos);
  EXPECT_EQ(missing->body, "no route /nowhere\n");
  c.send("DELETE /echo HTTP/1.1\r\n\r\n");
  auto method = c.response();
  ASSERT_TRUE(method);
  EXPECT_EQ(method->status, 405);
  EXPECT_FALSE(c.eof()) << "a route's error answer keeps the connection";
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndTheServerGoesOn) {
  start();
  Client c = client();
  c.send("GET /boom HTTP/1.1\r\n\r\nGET /echo HTTP/1.1\r\n\r\n");
  auto boom = c.response();
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->status, 500);
  EXPECT_NE(boom->body.find("handler failed"), std::string::npos);
  auto next = c.response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpServerTest, HeadAnswersCarryNoBody) {
  start();
  Client c = client();
  c.send("HEAD /nowhere HTTP/1.1\r\n\r\nGET /echo HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(run_until(io_, [&] { return c.unread().find("GET /echo ? ") != std::string::npos; }));
  const std::string raw = c.unread();
  EXPECT_EQ(raw.find("no route"), std::string::npos) << "the HEAD answer must not carry its body: " << raw;
  EXPECT_NE(raw.find("Content-Length: 18\r\n"), std::string::npos) << "but announces its length: " << raw;
}

TEST_F(HttpServerTest, ConnectionCloseAndHttp10AreHonoured) {
  start();
  Client closing = client();
  closing.send("GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
  auto r = closing.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->head.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(closing.closed_by_server());

  Client old = client();
  old.send("GET /echo HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(old.response());
  EXPECT_TRUE(old.closed_by_server()) << "HTTP/1.0 closes unless asked to keep alive";

  Client old_keep = client();
  old_keep.send("GET /echo HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /echo HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(old_keep.response());
  ASSERT_TRUE(old_keep.response());
  EXPECT_TRUE(old_keep.closed_by_server());
}

TEST_F(HttpServerTest, ManyClientsAtOnce) {
  start(HttpLimits{.max_connections_per_client = 64});
  constexpr int clients = 64;
  std::vector<std::unique_ptr<Client>> cs;
  for (int i = 0; i < clients; ++i) {
    cs.push_back(std::make_unique<Client>(io_, server_->local_port()));
    cs.back()->send("POST /tx HTTP/1.1\r\nContent-Length: " + std::to_string(i) + "\r\n\r\n" + std::string(i, 'x'));
  }
  for (int i = 0; i < clients; ++i) {
    auto r = cs[i]->response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "got " + std::to_string(i));
  }
  EXPECT_EQ(requests().size(), static_cast<std::size_t>(clients));
  EXPECT_EQ(server_->connections(), static_cast<std::size_t>(clients));
  const HttpStats stats = server_->stats();
  EXPECT_EQ(stats.requests, static_cast<std::uint64_t>(clients));
  EXPECT_EQ(stats.connections_accepted, static_cast<std::uint64_t>(clients));
  EXPECT_EQ(stats.buffered_bytes, 0u);
}

TEST_F(HttpServerTest, ConnectionsAboveTheTotalLimitGet503AndAreClosed) {
  start(HttpLimits{.max_connections = 2});
  Client a = client();
  Client b = client({.source = "127.0.0.2"});
  ASSERT_TRUE(run_until(io_, [&] { return server_->connections() == 2; }));
  Client c = client({.source = "127.0.0.3"});
  auto refused = c.response();
  ASSERT_TRUE(refused) << "answered, without sending a request";
  EXPECT_EQ(refused->status, 503);
  EXPECT_NE(refused->head.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(c.closed_by_server());
  a.send("GET /echo HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(a.response());
  const HttpStats stats = server_->stats();
  EXPECT_EQ(stats.refused_total_limit, 1u);
  EXPECT_EQ(stats.refused_client_limit, 0u);
  EXPECT_EQ(stats.connections_accepted, 2u);
  EXPECT_EQ(stats.open_connections, 2u);
}

TEST_F(HttpServerTest, OneClientAtItsLimitDoesNotKeepAnotherOut) {
  start(HttpLimits{.max_connections_per_client = 3});
  std::vector<std::unique_ptr<Client>> hog;
  for (int i = 0; i < 3; ++i) hog.push_back(std::make_unique<Client>(io_, server_->local_port(), ClientOptions{.source = "127.0.0.2"}));
  ASSERT_TRUE(run_until(io_, [&] { return server_->connections() == 3; }));
  Client extra = client({.source = "127.0.0.2"});
  auto refused = extra.response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_NE(refused->head.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(extra.closed_by_server());

  Client other = client({.source = "127.0.0.1"});
  other.send("GET /echo HTTP/1.1\r\n\r\n");
  auto served = other.response();
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
  EXPECT_EQ(server_->stats().refused_client_limit, 1u);

  hog.pop_back();  // below its limit again, the first client is served again
  ASSERT_TRUE(run_until(io_, [&] { return server_->connections() == 3; }));
  Client again = client({.source = "127.0.0.2"});
  again.send("GET /echo HTTP/1.1\r\n\r\n");
  auto back = again.response();
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, 200);
}

TEST_F(HttpServerTest, TheMemoryBudgetRefusesInsteadOfBuffering) {
  start(HttpLimits{.max_body_bytes = 1 << 20, .max_buffered_bytes = 256 << 10});
  const std::size_t size = 200000;
  const std::string head = "POST /tx HTTP/1.1\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
  Client first = client();
  first.send(head + std::string(1000, 'x'));  // its body's buffer is charged in full
  ASSERT_TRUE(run_until(io_, [&] { return server_->stats().buffered_bytes >= size; }));

  Client second = client({.source = "127.0.0.2"});
  second.send(head + std::string(1000, 'x'));
  auto refused = second.response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_TRUE(second.closed_by_server());
  EXPECT_EQ(server_->stats().refused_memory, 1u);
  EXPECT_LE(server_->stats().buffered_bytes, std::uint64_t{256} << 10);

  Client alone = client({.source = "127.0.0.3"});  // fits max_body_bytes, not the budget
  alone.send("POST /tx HTTP/1.1\r\nContent-Length: 300000\r\n\r\n");
  auto too_big = alone.response();
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 503);

  first.send(std::string(size - 1000, 'x'));
  auto done = first.response();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->body, "got 200000");
  ASSERT_TRUE(run_until(io_, [&] { return server_->stats().buffered_bytes == 0; })) << "the body's buffer is released";
  Client later = client({.source = "127.0.0.2"});
  later.send(head + std::string(size, 'x'));
  auto served = later.response();
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 202);
}

TEST_F(HttpServerTest, MemoryReturnsAfterAFloodOfNearlyCompleteBigBodies) {
  if (under_asan) GTEST_SKIP() << "ASan's allocator keeps freed memory in quarantine: RSS does not come back";
  constexpr int flooders = 64;
  constexpr std::size_t body = 1 << 20;
  start(HttpLimits{.max_body_bytes = body, .max_connections = 2 * flooders, .max_connections_per_client = 2 * flooders,
                   .max_buffered_bytes = std::size_t{256} << 20});
  // One payload shared by every client, so that the test's own heap stays flat.
  const auto payload = std::make_shared<const std::string>("POST /tx HTTP/1.1\r\nContent-Length: " + std::to_string(body) +
                                                           "\r\n\r\n" + std::string(body - 1, 'x'));
#ifdef __GLIBC__
  malloc_trim(0);  // a baseline without the free pages earlier tests left behind
#endif
  const std::size_t baseline = rss_bytes();
  // Twice: memory must come back also once glibc has adapted its thresholds to the
  // first round's large frees.
  for (int round = 0; round < 2; ++round) {
    std::vector<std::unique_ptr<Client>> flood;
    for (int i = 0; i < flooders; ++i) {
      flood.push_back(std::make_unique<Client>(io_, server_->local_port()));
      flood.back()->send(payload);
    }
    ASSERT_TRUE(run_until(io_, [&] {
      for (const auto& c : flood)
        if (c->eof()) return true;
      return server_->stats().buffered_bytes >= flooders * body;
    })) << "round " << round << ": " << server_->stats().buffered_bytes;
    EXPECT_GE(rss_bytes(), baseline + (std::size_t{32} << 20)) << "round " << round << ": the flood is held in memory";
    flood.clear();
    ASSERT_TRUE(run_until(io_, [&] { return server_->connections() == 0; })) << "round " << round;
    EXPECT_EQ(server_->stats().buffered_bytes, 0u);
    const std::size_t tolerance = std::size_t{16} << 20;
    EXPECT_TRUE(run_until(io_, [&] { return rss_bytes() <= baseline + tolerance; }))
        << "round " << round << ": RSS " << (rss_bytes() >> 20) << " MiB, baseline " << (baseline >> 20) << " MiB";
  }
  Client ok = client();
  ok.send("GET /echo HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(ok.response());
}

/// The most answers a bucket lets through in `elapsed` at `cost` a request, one more per
/// connection that passed at the same moment, and a margin for the clocks.
double most(double burst, double rate, std::chrono::steady_clock::duration elapsed, int connections, double cost = 1) {
  return ((burst + rate * std::chrono::duration<double>(elapsed).count()) / cost + connections) * 1.5;
}

TEST_F(HttpServerTest, AFloodingClientIsHeldToItsRateWhileAnotherIsServed) {
  start(HttpLimits{.client_cost_per_second = 50, .client_cost_burst = 10});
  const auto begin = std::chrono::steady_clock::now();
  const auto flooder = flood("127.0.0.2", 4, "/echo");
  // Meanwhile another address asks back to back, one request at a time.
  Client other = client();
  int served = 0;
  while (std::chrono::steady_clock::now() - begin < 1500ms) {
    other.send("GET /echo HTTP/1.1\r\n\r\n");
    auto r = other.response();
    ASSERT_TRUE(r) << "answered within the deadline, flood or not";
    EXPECT_EQ(r->status, 200);
    ++served;
  }
  const int flooded = answers(flooder);
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_LE(flooded, most(10, 50, elapsed, 4)) << "in " << std::chrono::duration<double>(elapsed).count() << " s";
  EXPECT_GE(flooded, 10) << "its burst at least";
  // Sharing the flooder's bucket, it would get about what one of its connections gets.
  EXPECT_GE(served, 2 * flooded / 4) << "flooder: " << flooded;
  EXPECT_GT(server_->stats().throttled, 0u);
}

TEST_F(HttpServerTest, AHandlerSetCostThrottlesInProportion) {
  start(HttpLimits{.client_cost_per_second = 50, .client_cost_burst = 10});
  const auto begin = std::chrono::steady_clock::now();
  const auto cheap = flood("127.0.0.2", 4, "/echo");
  const auto costly = flood("127.0.0.3", 4, "/costly");
  run_till(begin + 1500ms);
  const int cheap_answers = answers(cheap);
  const int costly_answers = answers(costly);
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_LE(cheap_answers, most(10, 50, elapsed, 4));
  EXPECT_LE(costly_answers, most(10, 50, elapsed, 4, 10));
  EXPECT_GE(costly_answers, 1);
  // A tenth, give or take the one request per connection that passes the bucket at once.
  EXPECT_LE(costly_answers * 4, cheap_answers) << "costly " << costly_answers << ", cheap " << cheap_answers;
}

TEST_F(HttpServerTest, TheTotalBucketThrottlesAddressesTogether) {
  // Each address alone stays within its own bucket (200 a second, 200 at once).
  start(HttpLimits{.total_cost_per_second = 50, .total_cost_burst = 10});
  const auto begin = std::chrono::steady_clock::now();
  const auto first = flood("127.0.0.2", 2, "/echo");
  const auto second = flood("127.0.0.3", 2, "/echo");
  run_till(begin + 1500ms);
  const int from_first = answers(first);
  const int from_second = answers(second);
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_LE(from_first + from_second, most(10, 50, elapsed, 4)) << from_first << " + " << from_second;
  EXPECT_GE(from_first, 1);
  EXPECT_GE(from_second, 1);
  EXPECT_GT(server_->stats().throttled, 0u);
}

TEST_F(HttpServerTest, AThrottledClientIsServedAgainAfterAPause) {
  start(HttpLimits{.client_cost_per_second = 50, .client_cost_burst = 10});
  Client c = client({.source = "127.0.0.2"});
  std::string pipelined;
  for (int i = 0; i < 30; ++i) pipelined += "GET /echo HTTP/1.1\r\n\r\n";
  c.send(pipelined);
  for (int i = 0; i < 30; ++i) {
    auto r = c.response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
  }
  const std::uint64_t throttled = server_->stats().throttled;
  EXPECT_GE(throttled, 1u) << "requests beyond the burst waited";
  EXPECT_LE(throttled, 20u) << "the burst did not";

  run_till(std::chrono::steady_clock::now() + 400ms);  // twice what the bucket takes to fill
  c.send(pipelined.substr(0, pipelined.size() / 3));
  for (int i = 0; i < 10; ++i) {
    auto r = c.response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(server_->stats().throttled, throttled) << "a full bucket again: none waited";
  EXPECT_FALSE(c.eof());
}

TEST_F(HttpServerTest, ThrottlingDoesNotCountAgainstTheTimeouts) {
  // Each pause (a token at 5 a second: 200 ms) outlasts the idle and request timeouts.
  start(HttpLimits{.idle_timeout = 100ms, .request_timeout = 100ms, .client_cost_per_second = 5, .client_cost_burst = 1});
  Client c = client();
  c.send("GET /echo HTTP/1.1\r\n\r\nGET /echo HTTP/1.1\r\n\r\nGET /echo HTTP/1.1\r\n\r\n");
  for (int i = 0; i < 3; ++i) {
    auto r = c.response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(server_->stats().timeouts, 0u);
  EXPECT_EQ(server_->stats().throttled, 2u);
  // After the pause that follows the last answer, the idle timeout runs again.
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(server_->stats().timeouts, 1u);
}

TEST_F(HttpServerTest, SlowlorisIsClosedByTheRequestTimeout) {
  // The idle timeout is far away: only the request timeout can end this connection.
  start(HttpLimits{.idle_timeout = 60s, .request_timeout = 200ms});
  Client slow = client();
  slow.send("GET /echo HTTP/1.1\r\n");
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!slow.eof() && std::chrono::steady_clock::now() < until) {
    slow.send("X-Trickle: 1\r\n");  // a header line now and then, never the blank line
    io_.run_for(50ms);
  }
  EXPECT_TRUE(slow.eof());
  EXPECT_EQ(server_->stats().timeouts, 1u);
  EXPECT_TRUE(requests().empty());
}

TEST_F(HttpServerTest, AClientThatDoesNotReadItsAnswerIsClosedByTheWriteTimeout) {
  start(HttpLimits{.write_timeout = 200ms});
  // A small receive window: the 32 MiB answer cannot all fit into the kernel's buffers.
  Client reader = client({.read = false, .receive_buffer = 4096});
  reader.send("GET /big HTTP/1.1\r\n\r\n");
  reader.flush();
  ASSERT_TRUE(run_until(io_, [&] { return server_->stats().timeouts == 1 && server_->connections() == 0; }));
  EXPECT_EQ(server_->stats().requests, 1u);
  EXPECT_EQ(server_->stats().response_bytes, 0u) << "the answer's buffer went with the connection";
  Client next = client();
  next.send("GET /echo HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(next.response());
}

TEST_F(HttpServerTest, TheHandlerRunsOnTheServersThread) {
  start();
  Client c = client();
  c.send("GET /echo HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(c.response());
  const auto threads = handler_threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_NE(threads[0], std::this_thread::get_id());
}

TEST_F(HttpServerTest, SeveralThreadsServeConnectionsConcurrently) {
  start(HttpLimits{.threads = 2});
  Client a = client();
  Client b = client();
  a.send("GET /pair HTTP/1.1\r\n\r\n");
  b.send("GET /pair HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(a.response());
  ASSERT_TRUE(b.response());
  EXPECT_EQ(max_inside_, 2) << "both handler calls ran at once";
}

TEST_F(HttpServerTest, StopJoinsWhileRequestsAreInFlight) {
  start(HttpLimits{.threads = 2});
  std::vector<std::unique_ptr<Client>> cs;
  for (int i = 0; i < 4; ++i) {
    cs.push_back(std::make_unique<Client>(io_, server_->local_port()));
    cs.back()->send("GET /slow HTTP/1.1\r\n\r\nGET /slow HTTP/1.1\r\n\r\n");
  }
  ASSERT_TRUE(run_until(io_, [&] { return entered_ >= 2; }));
  server_->stop();
  EXPECT_EQ(finished_.load(), entered_.load()) << "stop() returns after the handler calls in flight";
  EXPECT_EQ(server_->connections(), 0u);
  for (const auto& c : cs) EXPECT_TRUE(c->closed_by_server());
  const int served = entered_;
  io_.run_for(400ms);
  EXPECT_EQ(entered_.load(), served) << "no handler call after stop()";
  server_.reset();
}

TEST_F(HttpServerTest, IdleConnectionsAreClosed) {
  start(HttpLimits{.idle_timeout = std::chrono::milliseconds(50), .request_timeout = std::chrono::milliseconds(50)});
  Client silent = client();
  EXPECT_TRUE(silent.closed_by_server());
  Client half = client();
  half.send("GET /echo HTTP/1.1\r\n");  // stuck mid-request
  EXPECT_TRUE(half.closed_by_server());
  EXPECT_TRUE(requests().empty());
  EXPECT_EQ(server_->stats().timeouts, 2u);
}

TEST_F(HttpServerTest, StopClosesTheListenerAndEveryConnection) {
  start();
  Client c = client();
  ASSERT_TRUE(run_until(io_, [&] { return server_->connections() == 1; }));
  const std::uint16_t port = server_->local_port();
  server_->stop();
  EXPECT_TRUE(c.closed_by_server());
  tcp::socket late(io_);
  asio::error_code ec;
  late.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
  EXPECT_TRUE(ec) << "the listener is closed";
  server_.reset();
  io_.run_for(std::chrono::milliseconds(10));  // leftover handlers run after the server is gone
}

TEST_F(HttpServerTest, RandomBytesNeverBreakTheServer) {
  // Short timeouts end the inputs that leave a request incomplete.
  // Each client closes before the next, but the server may see that later: no per-client cap.
  // Hundreds of requests from one address: no per-client rate limit either.
  start(HttpLimits{.max_header_bytes = 512, .max_body_bytes = 512, .max_connections_per_client = 256,
                   .idle_timeout = std::chrono::milliseconds(100), .request_timeout = std::chrono::milliseconds(100),
                   .client_cost_per_second = 1 << 20, .client_cost_burst = 1 << 20,
                   .total_cost_per_second = 1 << 20, .total_cost_burst = 1 << 20});
  std::mt19937 rng(7);
  const std::string alphabet = "GET POST /tx HTTP/1.1\r\n: Content-Length 0123456789 \x01\xff?";
  for (int i = 0; i < 200; ++i) {
    std::string junk(rng() % 700, ' ');
    for (char& ch : junk) ch = rng() % 4 == 0 ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()];
    Client c = client();
    c.send(junk);
    c.flush();
    // Whatever it makes of the bytes, the server answers or closes (at the latest when
    // the request timeout ends a request still waiting for its body).
    c.send("\r\n\r\n");
    ASSERT_TRUE(run_until(io_, [&] { return c.eof() || c.unread().find("\r\n\r\n") != std::string::npos; })) << i;
  }
  Client ok = client();
  ok.send("GET /echo HTTP/1.1\r\n\r\n");
  auto r = ok.response();
  ASSERT_TRUE(r) << ok.unread();
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServerCreate, RefusesBadAddressesBusyPortsAndZeroLimits) {
  const auto handler = [](const HttpRequest&) { return HttpResponse{}; };
  auto bad = HttpServer::create("not-an-ip", 0, handler);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::io_error);
  auto first = HttpServer::create("127.0.0.1", 0, handler);
  ASSERT_TRUE(first.ok());
  auto busy = HttpServer::create("127.0.0.1", first->local_port(), handler);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, Errc::io_error);
  EXPECT_NE(busy.error().message.find("bind"), std::string::npos) << busy.error().message;
  auto no_handler = HttpServer::create("127.0.0.1", 0, HttpHandler{});
  ASSERT_FALSE(no_handler.ok());
  EXPECT_EQ(no_handler.error().code, Errc::invalid_argument);
  for (const HttpLimits& zero : {HttpLimits{.threads = 0}, HttpLimits{.max_connections_per_client = 0},
                                 HttpLimits{.max_buffered_bytes = 0}, HttpLimits{.request_timeout = 0ms},
                                 HttpLimits{.write_timeout = 0ms}, HttpLimits{.client_cost_per_second = 0},
                                 HttpLimits{.client_cost_burst = 0}, HttpLimits{.total_cost_per_second = 0},
                                 HttpLimits{.total_cost_burst = 0}}) {
    auto refused = HttpServer::create("127.0.0.1", 0, handler, zero);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, Errc::invalid_argument);
  }
}

TEST(HttpServerReason, NamesTheCodesItSends) {
  EXPECT_STREQ(reason_phrase(404), "Not Found");
  EXPECT_STREQ(reason_phrase(413), "Content Too Large");
  EXPECT_STREQ(reason_phrase(503), "Service Unavailable");
  EXPECT_STREQ(reason_phrase(299), "Unknown");
}

}  // namespace
}  // namespace bft::node
