// Metrics that the replica, the transport and the application register into one
// Registry, exposed in the Prometheus text exposition format 0.0.4 (GET /metrics).
//
// Updates are lock-free and safe from any thread (relaxed atomics: a metric is a
// figure, not a synchronisation point). Registration and Family::with() take a mutex:
// register at start-up and keep the references they return.
//
// Misuse (an invalid or duplicate name, a counter not named *_total, unsorted bucket
// bounds, the wrong number of label values) aborts with a message instead of returning
// a Result: names and bounds are literals in the code that registers them, so the
// mistake is a bug that the first run shows, not an input to handle — and a bad name
// left in would make Prometheus reject every scrape of the node.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bft::metrics {

/// The Content-Type of Registry::expose()'s text.
inline constexpr std::string_view exposition_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name) noexcept;
/// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved for Prometheus itself).
bool is_valid_label_name(std::string_view name) noexcept;

/// A monotonic count of events or bytes.
class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down.
class Gauge {
 public:
  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void inc(double n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  void dec(double n = 1) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Observations counted into buckets with fixed upper bounds (inclusive: a value equal
/// to a bound counts in that bound's bucket), plus their sum.
///
/// Each bucket and the sum are separate atomics, so a snapshot taken while other
/// threads observe may hold a sum from a slightly different moment than the counts, as
/// in Prometheus's own clients. The counts agree among themselves: `count` is their
/// total, so the +Inf bucket always equals `_count`.
class Histogram {
 public:
  /// `bounds` strictly increasing and finite (+Inf is implicit).
  explicit Histogram(std::vector<double> bounds);

  void observe(double value) noexcept;

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf; non-decreasing
    double sum = 0;
    std::uint64_t count = 0;  // == cumulative.back()
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative; last is +Inf
  std::atomic<double> sum_{0};
};

/// `count` bounds: start, start x factor, start x factor², ... (start > 0, factor > 1).
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

namespace detail {

enum class Type { counter, gauge, histogram };

/// What every registered name has in common; the Registry writes each in turn.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const noexcept { return name_; }
  Type type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }

  /// Appends # HELP, # TYPE and every sample.
  void write(std::string& out) const;

 protected:
  virtual void write_samples(std::string& out) const = 0;

 private:
  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> label_names_;
};

/// Orders children by label values and finds them without building a key.
struct LabelValuesLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

}  // namespace detail

/// A metric with label names; each distinct list of label values is one child series.
/// Children live as long as the family: keep label values to a bounded set (validator
/// addresses, message kinds), never request ids.
template <class Metric>
class Family final : public detail::FamilyBase {
 public:
  Family(std::string name, std::string help, detail::Type type, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Metric>()> make_child);

  /// The child with these label values, one per label name in registration order,
  /// created on first use. Takes the family's mutex: keep the reference, it stays valid
  /// as long as the family.
  Metric& with(std::initializer_list<std::string_view> label_values);

 private:
  void write_samples(std::string& out) const override;

  std::function<std::unique_ptr<Metric>()> make_child_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, detail::LabelValuesLess> children_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

/// One sample of a labelled callback metric: a value per label name, in order.
struct CallbackSample {
  std::vector<std::string> label_values;
  double value = 0;
};

/// Reads an unlabelled callback metric; nullopt leaves the sample out of this scrape
/// (e.g. a /proc file that could not be read).
using ReadValue = std::function<std::optional<double>()>;
/// Reads every sample of a labelled callback metric.
using ReadSamples = std::function<std::vector<CallbackSample>()>;

/// Owns every metric registered into it and writes them all, sorted by name.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// `name` must end in "_total".
  Counter& counter(std::string name, std::string help);
  Gauge& gauge(std::string name, std::string help);
  /// Samples name_bucket{le=...}, name_sum and name_count; those names are reserved too.
  Histogram& histogram(std::string name, std::string help, std::vector<double> bounds);

  Family<Counter>& counter_family(std::string name, std::string help, std::vector<std::string> label_names);
  Family<Gauge>& gauge_family(std::string name, std::string help, std::vector<std::string> label_names);
  /// `label_names` must not hold "le".
  Family<Histogram>& histogram_family(std::string name, std::string help, std::vector<std::string> label_names,
                                      std::vector<double> bounds);

  /// Values read by `read` on the scraping thread at each expose(), for state that
  /// already exists elsewhere (a stats struct, /proc). The registrant guarantees that
  /// `read` is safe to call from that thread and that what it reads outlives the
  /// registration (see remove()). `read` must not call back into this Registry.
  void callback_counter(std::string name, std::string help, ReadValue read);
  void callback_gauge(std::string name, std::string help, ReadValue read);
  void callback_counter_family(std::string name, std::string help, std::vector<std::string> label_names,
                               ReadSamples read);
  void callback_gauge_family(std::string name, std::string help, std::vector<std::string> label_names,
                             ReadSamples read);

  /// Unregisters `name` (false if it was not registered): a callback whose source is
  /// about to go, or a family whose children nobody references any more.
  bool remove(std::string_view name);

  /// The text exposition format 0.0.4 of every metric (exposition_content_type).
  std::string expose() const;
  void expose(std::string& out) const;

 private:
  template <class Metric>
  Family<Metric>& add_family(std::string name, std::string help, detail::Type type,
                             std::vector<std::string> label_names,
                             std::function<std::unique_ptr<Metric>()> make_child);
  void add(std::unique_ptr<detail::FamilyBase> family);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<detail::FamilyBase>, std::less<>> families_;
};

}  // namespace bft::metrics
