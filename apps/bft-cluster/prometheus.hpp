// --metrics-port: a real Prometheus server (Debian's `prometheus`) that scrapes every
// node's /metrics each second while the cluster runs, for an operator to graph the run
// and for bft-cluster to check, through Prometheus's own query API, that what the nodes
// expose is what a real Prometheus reads. Its data directory is under the run's
// directory; it is stopped when this object goes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cluster/http_client.hpp"
#include "cluster/prometheus_api.hpp"

namespace bft::cluster {

class PrometheusServer {
 public:
  /// Writes the configuration, starts `prometheus` on 127.0.0.1:`port` (0: a free one)
  /// and waits until it is ready. Errors: io_error (cannot start, not ready in time; the
  /// message holds the end of its log).
  static Result<std::unique_ptr<PrometheusServer>> start(const std::filesystem::path& dir, std::uint16_t port,
                                                         const std::vector<ScrapeTarget>& targets);
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  std::string url() const;
  /// An instant query (GET /api/v1/query).
  Result<std::vector<PromSample>> query(std::string_view expression);

 private:
  PrometheusServer(pid_t pid, std::uint16_t port, std::filesystem::path log);

  pid_t pid_;
  std::uint16_t port_;
  std::filesystem::path log_;
  HttpClient http_;
};

}  // namespace bft::cluster
