#include "bft/metrics/process.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace bft::metrics {
namespace {

/// The fields of /proc/self/stat after the command name, which is in parentheses and
/// may itself hold spaces and ')': element 0 is field 3 of proc(5), `state`.
std::vector<std::string> stat_fields() {
  std::ifstream file("/proc/self/stat");
  std::string text;
  std::getline(file, text);
  const auto name_end = text.rfind(')');
  if (name_end == std::string::npos) return {};
  std::istringstream rest(text.substr(name_end + 1));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;
}

/// Field `number` of proc(5)'s /proc/[pid]/stat (1-based, as the manual numbers them).
std::optional<double> stat_field(int number) {
  const std::vector<std::string> fields = stat_fields();
  const auto index = static_cast<std::size_t>(number - 3);
  if (index >= fields.size()) return std::nullopt;
  try {
    return std::stod(fields[index]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

constexpr int utime_field = 14;
constexpr int stime_field = 15;
constexpr int starttime_field = 22;
constexpr int vsize_field = 23;
constexpr int rss_field = 24;

double clock_ticks_per_second() { return static_cast<double>(::sysconf(_SC_CLK_TCK)); }

std::optional<double> boot_time_seconds() {
  std::ifstream file("/proc/stat");
  for (std::string key; file >> key;) {
    if (key == "btime") {
      double seconds = 0;
      if (file >> seconds) return seconds;
      return std::nullopt;
    }
    file.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

std::optional<double> open_fds() {
  std::error_code error;
  std::filesystem::directory_iterator entries("/proc/self/fd", error);
  if (error) return std::nullopt;
  double count = 0;
  for (auto it = entries; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) return std::nullopt;
    ++count;
  }
  // The iterator's own descriptor is one of the entries; it is not the process's.
  return count - 1;
}

}  // namespace

void register_process_metrics(Registry& registry) {
  registry.callback_counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                            []() -> std::optional<double> {
                              const auto user = stat_field(utime_field);
                              const auto system = stat_field(stime_field);
                              if (!user || !system) return std::nullopt;
                              return (*user + *system) / clock_ticks_per_second();
                            });
  registry.callback_gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                          []() -> std::optional<double> {
                            const auto pages = stat_field(rss_field);
                            if (!pages) return std::nullopt;
                            return *pages * static_cast<double>(::sysconf(_SC_PAGESIZE));
                          });
  registry.callback_gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                          [] { return stat_field(vsize_field); });
  registry.callback_gauge("process_open_fds", "Number of open file descriptors.", open_fds);
  registry.callback_gauge("process_max_fds", "Maximum number of open file descriptors.",
                          []() -> std::optional<double> {
                            rlimit limit{};
                            if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
                            return static_cast<double>(limit.rlim_cur);
                          });
  // Constant for the life of the process: read once.
  std::optional<double> start_time;
  if (const auto boot = boot_time_seconds(), ticks = stat_field(starttime_field); boot && ticks)
    start_time = *boot + *ticks / clock_ticks_per_second();
  registry.callback_gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                          [start_time] { return start_time; });
}

}  // namespace bft::metrics
