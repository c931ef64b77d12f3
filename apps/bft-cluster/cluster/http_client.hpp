// A tiny blocking HTTP/1.1 client on standalone asio, enough for bft-node's API: one
// keep-alive connection, Content-Length bodies, a deadline per request. Not thread-safe:
// each thread that talks to a node owns its client.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "bft/result.hpp"

namespace bft::cluster {

struct HttpReply {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  /// `host` is a numeric IPv4 or IPv6 address. Nothing connects until the first request.
  /// `source`: the local address to connect from (numeric; empty: the system's choice).
  HttpClient(std::string host, std::uint16_t port, std::chrono::milliseconds timeout, std::string source = {});

  /// Errors: io_error (cannot connect, reset, timeout), malformed (not HTTP/1.x, no
  /// Content-Length). After an error the connection is closed; the next request reconnects.
  Result<HttpReply> get(std::string_view target);
  Result<HttpReply> post(std::string_view target, std::string_view body);

 private:
  Result<HttpReply> request(std::string_view method, std::string_view target, std::string_view body);
  Result<HttpReply> exchange(const std::string& request_text, std::chrono::steady_clock::time_point deadline);
  Result<void> run_until(std::chrono::steady_clock::time_point deadline, const char* step);
  void disconnect();

  std::string host_;
  std::uint16_t port_;
  std::string source_;
  std::chrono::milliseconds timeout_;
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::string received_;  // bytes read past the end of the previous reply
};

}  // namespace bft::cluster
