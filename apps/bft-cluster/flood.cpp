#include "flood.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "cluster/http_client.hpp"

namespace bft::cluster {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto request_timeout = std::chrono::seconds(2);
constexpr int nice_increment = 10;
/// Just below bft-node's body limit: read in full, then refused as a whole.
constexpr std::size_t junk_body_bytes = 1000 * 1000;

}  // namespace

HttpFlood::HttpFlood(Endpoint target, std::string source, std::size_t clients, Clock::time_point from,
                     Clock::time_point until)
    : target_(std::move(target)), source_(std::move(source)), clients_(clients), from_(from), until_(until) {}

HttpFlood::~HttpFlood() {
  stop();
  join();
}

void HttpFlood::start() {
  for (std::size_t client = 0; client < clients_; ++client) threads_.emplace_back([this, client] { attack(client); });
}

void HttpFlood::stop() { stop_ = true; }

void HttpFlood::join() {
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

void HttpFlood::attack(std::size_t client) {
  // Linux: the nice value of this thread alone. A failure leaves it at the default.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), nice_increment);
  while (!stop_ && Clock::now() < from_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  HttpClient http(target_.host, target_.port, request_timeout, source_);
  const std::string junk(junk_body_bytes, 'x');
  for (std::uint64_t n = client; !stop_ && Clock::now() < until_; ++n) {
    Result<HttpReply> reply = make_error(Errc::invalid_argument, "no request");
    switch (n % 5) {
      case 0: reply = http.get("/blocks?from=1&to=18446744073709551615"); break;
      case 1: reply = http.get("/blocks?from=" + std::to_string(n % 997 + 1)); break;
      case 2: reply = http.get("/status"); break;
      case 3: reply = http.get("/kv/c0-" + std::to_string(n % 1000)); break;
      default: reply = http.post("/txs", junk); break;
    }
    ++requests_;
    if (reply) ++answered_;
  }
}

}  // namespace bft::cluster
