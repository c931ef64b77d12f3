// The standard Prometheus process metrics, read from /proc at each scrape (Linux).
#pragma once

#include "bft/metrics/registry.hpp"

namespace bft::metrics {

/// Registers process_cpu_seconds_total, process_resident_memory_bytes,
/// process_virtual_memory_bytes, process_open_fds, process_max_fds and
/// process_start_time_seconds, under the names every Prometheus client uses, so the
/// usual dashboards work. A value that cannot be read is left out of that scrape.
void register_process_metrics(Registry& registry);

}  // namespace bft::metrics
