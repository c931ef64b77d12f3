#include "cluster/http_client.hpp"

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <charconv>

namespace bft::cluster {

namespace {

using Clock = std::chrono::steady_clock;

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

struct Head {
  int status = 0;
  std::size_t content_length = 0;
  bool close = false;  // the server closes the connection after this reply
};

/// The status line and headers, without the blank line that ends them.
Result<Head> parse_head(std::string_view head) {
  const auto line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.x NNN reason"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ')
    return make_error(Errc::malformed, "not an HTTP/1.x reply: " + std::string(status_line.substr(0, 80)));
  Head parsed;
  const char* digits = status_line.data() + 9;
  if (std::from_chars(digits, digits + 3, parsed.status).ptr != digits + 3)
    return make_error(Errc::malformed, "bad status line: " + std::string(status_line));
  parsed.close = status_line[7] == '0';  // HTTP/1.0 closes unless it says keep-alive
  bool has_length = false;
  std::string_view rest = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
  while (!rest.empty()) {
    const auto end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string name = lowercase(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (name == "content-length") {
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed.content_length);
      if (ec != std::errc{} || ptr != value.data() + value.size())
        return make_error(Errc::malformed, "bad Content-Length: " + std::string(value));
      has_length = true;
    } else if (name == "connection") {
      const std::string token = lowercase(value);
      if (token == "close") parsed.close = true;
      if (token == "keep-alive") parsed.close = false;
    } else if (name == "transfer-encoding") {
      return make_error(Errc::malformed, "a Transfer-Encoding reply (only Content-Length bodies are supported)");
    }
  }
  if (!has_length) return make_error(Errc::malformed, "a reply without Content-Length");
  return parsed;
}

}  // namespace

HttpClient::HttpClient(std::string host, std::uint16_t port, std::chrono::milliseconds timeout, std::string source)
    : host_(std::move(host)), port_(port), source_(std::move(source)), timeout_(timeout), socket_(io_) {}

Result<HttpReply> HttpClient::get(std::string_view target) { return request("GET", target, {}); }

Result<HttpReply> HttpClient::post(std::string_view target, std::string_view body) {
  return request("POST", target, body);
}

void HttpClient::disconnect() {
  asio::error_code ignored;
  socket_.close(ignored);
  received_.clear();
}

Result<void> HttpClient::run_until(Clock::time_point deadline, const char* step) {
  io_.restart();
  io_.run_until(deadline);
  if (io_.stopped()) return {};
  // The operation is still pending: cancel it and let its handler run to completion.
  disconnect();
  io_.restart();
  io_.run();
  return make_error(Errc::io_error, std::string("timed out ") + step + " " + host_ + ":" + std::to_string(port_));
}

Result<HttpReply> HttpClient::request(std::string_view method, std::string_view target, std::string_view body) {
  std::string text;
  text.reserve(128 + body.size());
  text.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host_);
  text.append("\r\nContent-Type: text/plain\r\nContent-Length: ").append(std::to_string(body.size()));
  text.append("\r\n\r\n").append(body);
  const auto deadline = Clock::now() + timeout_;
  // A kept-alive connection the server has closed meanwhile fails at once; one retry on a
  // fresh connection covers that. (Repeating a POST /txs only sets the same keys again.)
  const bool reused = socket_.is_open();
  auto reply = exchange(text, deadline);
  if (!reply && reused && reply.error().code == Errc::io_error && Clock::now() < deadline) reply = exchange(text, deadline);
  return reply;
}

Result<HttpReply> HttpClient::exchange(const std::string& request_text, Clock::time_point deadline) {
  asio::error_code ec;
  if (!socket_.is_open()) {
    received_.clear();
    const asio::ip::address address = asio::ip::make_address(host_, ec);
    if (ec) return make_error(Errc::invalid_argument, "not a numeric address: " + host_);
    if (!source_.empty()) {
      const asio::ip::address from = asio::ip::make_address(source_, ec);
      if (ec) return make_error(Errc::invalid_argument, "not a numeric address: " + source_);
      socket_.open(from.is_v4() ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), ec);
      if (!ec) socket_.bind({from, 0}, ec);
      if (ec) {
        disconnect();
        return make_error(Errc::io_error, "cannot bind to " + source_ + ": " + ec.message());
      }
    }
    socket_.async_connect({address, port_}, [&](asio::error_code e) { ec = e; });
    if (auto done = run_until(deadline, "connecting to"); !done) return done.error();
    if (ec) {
      disconnect();
      return make_error(Errc::io_error, "cannot connect to " + host_ + ":" + std::to_string(port_) + ": " + ec.message());
    }
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  }
  auto failed = [&](const char* step) {
    disconnect();
    return make_error(Errc::io_error, std::string(step) + " " + host_ + ":" + std::to_string(port_) + ": " + ec.message());
  };

  asio::async_write(socket_, asio::buffer(request_text), [&](asio::error_code e, std::size_t) { ec = e; });
  if (auto done = run_until(deadline, "sending to"); !done) return done.error();
  if (ec) return failed("sending to");

  std::size_t head_size = 0;
  asio::async_read_until(socket_, asio::dynamic_buffer(received_), "\r\n\r\n",
                         [&](asio::error_code e, std::size_t n) { ec = e; head_size = n; });
  if (auto done = run_until(deadline, "waiting for"); !done) return done.error();
  if (ec) return failed("reading from");
  auto head = parse_head(std::string_view(received_).substr(0, head_size - 4));
  if (!head) {
    disconnect();
    return head.error();
  }
  received_.erase(0, head_size);

  if (received_.size() < head->content_length) {
    const std::size_t missing = head->content_length - received_.size();
    asio::async_read(socket_, asio::dynamic_buffer(received_), asio::transfer_exactly(missing),
                     [&](asio::error_code e, std::size_t) { ec = e; });
    if (auto done = run_until(deadline, "reading from"); !done) return done.error();
    if (ec) return failed("reading from");
  }
  HttpReply reply{head->status, received_.substr(0, head->content_length)};
  received_.erase(0, head->content_length);
  if (head->close) disconnect();
  return reply;
}

}  // namespace bft::cluster
