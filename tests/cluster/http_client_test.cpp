// The client against a scripted loopback server: each accepted connection runs a handler
// that reads requests and writes raw reply bytes.
#include "cluster/http_client.hpp"

#include <gtest/gtest.h>

#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <functional>
#include <thread>

namespace bft::cluster {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

/// Reads one request (head and Content-Length body); empty when the peer closed.
std::string read_request(tcp::socket& socket, std::string& buffer) {
  asio::error_code ec;
  const std::size_t head = asio::read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n", ec);
  if (ec) return {};
  std::size_t length = 0;
  if (const auto at = buffer.find("Content-Length: "); at != std::string::npos && at < head)
    length = std::stoul(buffer.substr(at + 16));
  if (buffer.size() < head + length)
    asio::read(socket, asio::dynamic_buffer(buffer), asio::transfer_exactly(head + length - buffer.size()), ec);
  std::string request = buffer.substr(0, head + length);
  buffer.erase(0, head + length);
  return request;
}

class ScriptedServer {
 public:
  using Handler = std::function<void(tcp::socket&)>;
  explicit ScriptedServer(Handler handler)
      : acceptor_(io_, {asio::ip::address_v4::loopback(), 0}), handler_(std::move(handler)) {
    thread_ = std::thread([this] {
      while (true) {
        asio::error_code ec;
        tcp::socket socket(io_);
        acceptor_.accept(socket, ec);
        if (ec || stopping_) return;
        ++connections_;
        handler_(socket);
      }
    });
  }
  ~ScriptedServer() {
    stopping_ = true;
    // Wake the accept with one last connection.
    asio::io_context io;
    tcp::socket poke(io);
    asio::error_code ignored;
    poke.connect({asio::ip::address_v4::loopback(), port()}, ignored);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

void reply(tcp::socket& socket, const std::string& raw) {
  asio::error_code ignored;
  asio::write(socket, asio::buffer(raw), ignored);
}

TEST(HttpClient, KeepsOneConnectionForManyRequests) {
  std::atomic<int> requests{0};
  ScriptedServer server([&](tcp::socket& socket) {
    std::string buffer;
    while (true) {
      const std::string request = read_request(socket, buffer);
      if (request.empty()) return;
      ++requests;
      const std::string body = request.starts_with("POST /txs") ? R"({"accepted": 2})" : "value";
      reply(socket, "HTTP/1.1 200 OK\r\ncontent-length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    }
  });
  HttpClient client("127.0.0.1", server.port(), 2s);
  for (int i = 0; i < 3; ++i) {
    const auto r = client.get("/kv/a");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "value");
  }
  const auto posted = client.post("/txs", "set a 1\nset b 2\n");
  ASSERT_TRUE(posted.ok());
  EXPECT_EQ(posted->body, R"({"accepted": 2})");
  EXPECT_EQ(requests, 4);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClient, ReadsABodyThatArrivesInPieces) {
  ScriptedServer server([](tcp::socket& socket) {
    std::string buffer;
    read_request(socket, buffer);
    reply(socket, "HTTP/1.1 404 Not Found\r\nContent-Len");
    std::this_thread::sleep_for(20ms);
    reply(socket, "gth: 9\r\n\r\nnot ");
    std::this_thread::sleep_for(20ms);
    reply(socket, "found");
    read_request(socket, buffer);
  });
  HttpClient client("127.0.0.1", server.port(), 2s);
  const auto r = client.get("/kv/missing");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "not found");
}

TEST(HttpClient, ReconnectsWhenTheServerClosedAKeptConnection) {
  ScriptedServer server([](tcp::socket& socket) {
    std::string buffer;
    read_request(socket, buffer);
    reply(socket, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    socket.close();  // without saying so: the client finds out on its next request
  });
  HttpClient client("127.0.0.1", server.port(), 2s);
  for (int i = 0; i < 3; ++i) {
    const auto r = client.get("/status");
    ASSERT_TRUE(r.ok()) << i << ": " << r.error().message;
    EXPECT_EQ(r->body, "ok");
  }
  EXPECT_EQ(server.connections(), 3);
}

TEST(HttpClient, TimesOutOnASilentServer) {
  std::atomic<bool> client_done{false};
  ScriptedServer server([&](tcp::socket& socket) {
    std::string buffer;
    read_request(socket, buffer);
    while (!client_done) std::this_thread::sleep_for(10ms);  // never answers while the client waits
  });
  HttpClient client("127.0.0.1", server.port(), 200ms);
  const auto r = client.get("/status");
  client_done = true;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::io_error);
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos) << r.error().message;
}

TEST(HttpClient, RefusedConnectionIsAnError) {
  std::uint16_t port = 0;
  {
    asio::io_context io;
    tcp::acceptor probe(io, {asio::ip::address_v4::loopback(), 0});
    port = probe.local_endpoint().port();
  }
  HttpClient client("127.0.0.1", port, 1s);
  const auto r = client.get("/status");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::io_error);
}

TEST(HttpClient, RejectsRepliesItCannotFrame) {
  for (const std::string& raw : {std::string("SMTP ready\r\n\r\n"), std::string("HTTP/1.1 200 OK\r\n\r\nbody"),
                                std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")}) {
    ScriptedServer server([&](tcp::socket& socket) {
      std::string buffer;
      read_request(socket, buffer);
      reply(socket, raw);
      read_request(socket, buffer);
    });
    HttpClient client("127.0.0.1", server.port(), 1s);
    const auto r = client.get("/status");
    ASSERT_FALSE(r.ok()) << raw;
    EXPECT_EQ(r.error().code, Errc::malformed) << raw;
  }
}

}  // namespace
}  // namespace bft::cluster
