// What bft-cluster says to and reads from a Prometheus server: the scrape configuration
// for the cluster's nodes, and the instant vectors its HTTP query API answers with
// (GET /api/v1/query, https://prometheus.io/docs/prometheus/latest/querying/api/).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "bft/result.hpp"

namespace bft::cluster {

struct ScrapeTarget {
  std::string node;     // becomes the `node` label of every series scraped from it
  std::string address;  // host:port of its HTTP endpoint, which serves /metrics
};

/// prometheus.yml: one job, `bftcore`, scraping every target at `interval`.
std::string prometheus_config(const std::vector<ScrapeTarget>& targets, std::chrono::seconds interval);

struct PromSample {
  std::string node;  // the series' `node` label ("" if it has none)
  double value = 0;
};

/// The samples of a successful instant-vector answer. Errors (malformed): not JSON, a
/// status other than "success", a result type other than "vector", a value that is not
/// a number.
Result<std::vector<PromSample>> parse_instant_vector(std::string_view body);

/// RFC 3986 percent-encoding of a query expression for a URL's query string.
std::string url_encode(std::string_view text);

}  // namespace bft::cluster
