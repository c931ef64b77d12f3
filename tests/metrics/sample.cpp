// bft-metrics-sample: prints a registry holding every kind of metric, for
// `promtool check metrics` to lint (tests/metrics/check_with_promtool.sh).
#include <cstdio>

#include "bft/metrics/process.hpp"
#include "bft/metrics/registry.hpp"

int main() {
  using namespace bft::metrics;
  Registry registry;
  registry.counter("bft_sample_events_total", "Events seen.").inc(3);
  registry.gauge("bft_sample_queue_depth", "Messages waiting.").set(-2.5);
  Family<Counter>& received =
      registry.counter_family("bft_sample_received_bytes_total", "Bytes received from each peer.", {"peer"});
  received.with({"ab12"}).inc(100);
  received.with({"a \"quoted\\\" peer\nname"}).inc(7);
  Histogram& latency = registry.histogram("bft_sample_commit_latency_seconds",
                                          "Time from proposal to commit.", {0.005, 0.01, 0.1, 1});
  for (double seconds : {0.001, 0.005, 0.05, 2.0}) latency.observe(seconds);
  Family<Histogram>& sizes = registry.histogram_family("bft_sample_message_size_bytes", "Size of each message.",
                                                       {"kind"}, exponential_buckets(64, 4, 5));
  sizes.with({"vote"}).observe(120);
  sizes.with({"proposal"}).observe(70000);
  registry.callback_gauge("bft_sample_height", "The height being decided.", [] { return 42.0; });
  registry.callback_counter_family("bft_sample_sent_messages_total", "Messages sent to each peer.", {"peer"}, [] {
    return std::vector<CallbackSample>{{{"ab12"}, 5}, {{"cd34"}, 6}};
  });
  register_process_metrics(registry);
  std::fputs(registry.expose().c_str(), stdout);
  return 0;
}
