#include "prometheus.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <asio/ip/tcp.hpp>
#include <fstream>
#include <thread>

#include "process.hpp"

namespace bft::cluster {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto ready_timeout = std::chrono::seconds(20);
constexpr auto stop_grace = std::chrono::seconds(5);
constexpr auto scrape_interval = std::chrono::seconds(1);

/// A port nothing listens on now (the system's choice for a socket bound to port 0).
Result<std::uint16_t> free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io);
  asio::error_code ec;
  acceptor.open(asio::ip::tcp::v4(), ec);
  if (!ec) acceptor.bind({asio::ip::make_address_v4("127.0.0.1"), 0}, ec);
  if (ec) return make_error(Errc::io_error, "cannot find a free port: " + ec.message());
  return acceptor.local_endpoint().port();
}

}  // namespace

PrometheusServer::PrometheusServer(pid_t pid, std::uint16_t port, std::filesystem::path log)
    : pid_(pid), port_(port), log_(std::move(log)), http_("127.0.0.1", port, std::chrono::seconds(5)) {}

Result<std::unique_ptr<PrometheusServer>> PrometheusServer::start(const std::filesystem::path& dir, std::uint16_t port,
                                                                  const std::vector<ScrapeTarget>& targets) {
  if (port == 0) {
    auto chosen = free_port();
    if (!chosen) return chosen.error();
    port = *chosen;
  }
  const std::filesystem::path config = dir / "prometheus.yml";
  std::ofstream(config) << prometheus_config(targets, scrape_interval);
  const std::filesystem::path log = dir / "prometheus.log";
  auto pid = spawn({"prometheus", "--config.file=" + config.string(),
                    "--storage.tsdb.path=" + (dir / "prometheus-data").string(),
                    "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"},
                   log);
  if (!pid) return pid.error();
  std::unique_ptr<PrometheusServer> server(new PrometheusServer(*pid, port, log));
  const auto deadline = Clock::now() + ready_timeout;
  while (true) {
    if (auto reply = server->http_.get("/-/ready"); reply && reply->status == 200) return server;
    int status = 0;
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      server->pid_ = -1;
      return make_error(Errc::io_error, "prometheus exited (" + describe_wait_status(status) + "):\n" + tail_of(log, 10));
    }
    if (Clock::now() > deadline)
      return make_error(Errc::io_error, "prometheus not ready within 20 s:\n" + tail_of(log, 10));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

PrometheusServer::~PrometheusServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + stop_grace;
  while (waitpid(pid_, nullptr, WNOHANG) != pid_) {
    if (Clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string PrometheusServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

Result<std::vector<PromSample>> PrometheusServer::query(std::string_view expression) {
  auto reply = http_.get("/api/v1/query?query=" + url_encode(expression));
  if (!reply) return reply.error();
  if (reply->status != 200)
    return make_error(Errc::io_error, "prometheus answered " + std::to_string(reply->status) + ": " + reply->body);
  return parse_instant_vector(reply->body);
}

}  // namespace bft::cluster
