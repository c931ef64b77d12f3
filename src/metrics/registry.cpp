#include "bft/metrics/registry.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <utility>

namespace bft::metrics {
namespace {

[[noreturn]] void misuse(const std::string& what) {
  std::fprintf(stderr, "bft::metrics: %s\n", what.c_str());
  std::abort();
}

bool is_name_char(char c, bool first, bool colon_allowed) {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_allowed && c == ':');
  return letter || (!first && c >= '0' && c <= '9');
}

bool is_valid_name(std::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!is_name_char(name[i], i == 0, colon_allowed)) return false;
  return true;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

void check_label_names(const std::string& metric, const std::vector<std::string>& label_names) {
  std::set<std::string_view> seen;
  for (const std::string& label : label_names) {
    if (!is_valid_label_name(label)) misuse(metric + ": invalid label name '" + label + "'");
    if (!seen.insert(label).second) misuse(metric + ": label '" + label + "' given twice");
  }
}

void check_bounds(const std::string& metric, const std::vector<double>& bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) misuse(metric + ": bucket bounds must be finite (+Inf is implicit)");
    if (i > 0 && !(bounds[i - 1] < bounds[i])) misuse(metric + ": bucket bounds must be strictly increasing");
  }
}

/// The sample names a family writes: a histogram's series carry suffixes.
std::vector<std::string> sample_names(const detail::FamilyBase& family) {
  if (family.type() != detail::Type::histogram) return {family.name()};
  return {family.name(), family.name() + "_bucket", family.name() + "_sum", family.name() + "_count"};
}

void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

/// Go's strconv.ParseFloat reads this back exactly: the shortest round-trip form, or
/// the spellings Prometheus uses for the non-finite values.
void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[32];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
    out.append(buffer, end);
  }
}

void append_value(std::string& out, std::uint64_t value) {
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out.append(buffer, end);
}

struct ExtraLabel {
  std::string_view name;
  std::string_view value;
};

/// name{label="value",...} value\n
template <class Value>
void append_sample(std::string& out, const detail::FamilyBase& family, std::string_view suffix,
                   const std::vector<std::string>& label_values, std::optional<ExtraLabel> extra, Value value) {
  out += family.name();
  out += suffix;
  if (!label_values.empty() || extra) {
    out += '{';
    const char* separator = "";
    for (std::size_t i = 0; i < label_values.size(); ++i) {
      out += separator;
      out += family.label_names()[i];
      out += "=\"";
      append_escaped(out, label_values[i], true);
      out += '"';
      separator = ",";
    }
    if (extra) {
      out += separator;
      out += extra->name;
      out += "=\"";
      out += extra->value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  append_value(out, value);
  out += '\n';
}

void append_samples(std::string& out, const detail::FamilyBase& family, const std::vector<std::string>& labels,
                    const Counter& counter) {
  append_sample(out, family, "", labels, std::nullopt, counter.value());
}

void append_samples(std::string& out, const detail::FamilyBase& family, const std::vector<std::string>& labels,
                    const Gauge& gauge) {
  append_sample(out, family, "", labels, std::nullopt, gauge.value());
}

void append_samples(std::string& out, const detail::FamilyBase& family, const std::vector<std::string>& labels,
                    const Histogram& histogram) {
  const Histogram::Snapshot snapshot = histogram.snapshot();
  std::string bound;
  for (std::size_t i = 0; i < snapshot.bounds.size(); ++i) {
    bound.clear();
    append_value(bound, snapshot.bounds[i]);
    append_sample(out, family, "_bucket", labels, ExtraLabel{"le", bound}, snapshot.cumulative[i]);
  }
  append_sample(out, family, "_bucket", labels, ExtraLabel{"le", "+Inf"}, snapshot.count);
  append_sample(out, family, "_sum", labels, std::nullopt, snapshot.sum);
  append_sample(out, family, "_count", labels, std::nullopt, snapshot.count);
}

/// A counter or gauge whose samples are read at scrape time.
class CallbackFamily final : public detail::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, detail::Type type, std::vector<std::string> label_names,
                 ReadSamples read)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)), read_(std::move(read)) {}

 private:
  void write_samples(std::string& out) const override {
    for (const CallbackSample& sample : read_()) {
      if (sample.label_values.size() != label_names().size())
        misuse(name() + ": a callback sample has the wrong number of label values");
      append_sample(out, *this, "", sample.label_values, std::nullopt, sample.value);
    }
  }

  ReadSamples read_;
};

ReadSamples as_samples(ReadValue read) {
  return [read = std::move(read)]() -> std::vector<CallbackSample> {
    const std::optional<double> value = read();
    if (!value) return {};
    return {CallbackSample{{}, *value}};
  };
}

}  // namespace

bool is_valid_metric_name(std::string_view name) noexcept { return is_valid_name(name, true); }

bool is_valid_label_name(std::string_view name) noexcept {
  return is_valid_name(name, false) && name.substr(0, 2) != "__";
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  check_bounds("histogram", bounds_);
}

void Histogram::observe(double value) noexcept {
  // The first bound >= value; NaN compares false with every bound and lands in +Inf,
  // as in Prometheus's Go client.
  const std::size_t bucket = std::isnan(value) ? bounds_.size()
                                               : static_cast<std::size_t>(
                                                     std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                                     bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  snapshot.cumulative.resize(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = total;
  }
  snapshot.count = total;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
  if (!(start > 0) || !(factor > 1)) misuse("exponential_buckets needs start > 0 and factor > 1");
  std::vector<double> bounds;
  bounds.reserve(count);
  for (double bound = start; bounds.size() < count; bound *= factor) bounds.push_back(bound);
  return bounds;
}

namespace detail {

FamilyBase::FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {
  if (!is_valid_metric_name(name_)) misuse("invalid metric name '" + name_ + "'");
  if (type_ == Type::counter && !ends_with(name_, "_total")) misuse(name_ + ": a counter's name must end in _total");
  check_label_names(name_, label_names_);
  if (type_ == Type::histogram &&
      std::find(label_names_.begin(), label_names_.end(), "le") != label_names_.end())
    misuse(name_ + ": 'le' is the histogram's own bucket label");
}

void FamilyBase::write(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  append_escaped(out, help_, false);
  out += "\n# TYPE ";
  out += name_;
  out += type_ == Type::counter ? " counter\n" : type_ == Type::gauge ? " gauge\n" : " histogram\n";
  write_samples(out);
}

}  // namespace detail

template <class Metric>
Family<Metric>::Family(std::string name, std::string help, detail::Type type, std::vector<std::string> label_names,
                       std::function<std::unique_ptr<Metric>()> make_child)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)), make_child_(std::move(make_child)) {}

template <class Metric>
Metric& Family<Metric>::with(std::initializer_list<std::string_view> label_values) {
  if (label_values.size() != label_names().size())
    misuse(name() + ": " + std::to_string(label_values.size()) + " label values for " +
           std::to_string(label_names().size()) + " label names");
  const std::lock_guard lock(mutex_);
  auto found = children_.find(label_values);
  if (found == children_.end())
    found = children_.emplace(std::vector<std::string>(label_values.begin(), label_values.end()), make_child_()).first;
  return *found->second;
}

template <class Metric>
void Family<Metric>::write_samples(std::string& out) const {
  const std::lock_guard lock(mutex_);
  for (const auto& [label_values, child] : children_) append_samples(out, *this, label_values, *child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <class Metric>
Family<Metric>& Registry::add_family(std::string name, std::string help, detail::Type type,
                                     std::vector<std::string> label_names,
                                     std::function<std::unique_ptr<Metric>()> make_child) {
  auto family = std::make_unique<Family<Metric>>(std::move(name), std::move(help), type, std::move(label_names),
                                                 std::move(make_child));
  Family<Metric>& result = *family;
  add(std::move(family));
  return result;
}

void Registry::add(std::unique_ptr<detail::FamilyBase> family) {
  const std::lock_guard lock(mutex_);
  for (const std::string& name : sample_names(*family))
    for (const auto& [_, existing] : families_)
      for (const std::string& taken : sample_names(*existing))
        if (name == taken) misuse("'" + family->name() + "' collides with the registered '" + existing->name() + "'");
  std::string name = family->name();
  families_.emplace(std::move(name), std::move(family));
}

Counter& Registry::counter(std::string name, std::string help) {
  return counter_family(std::move(name), std::move(help), {}).with({});
}

Gauge& Registry::gauge(std::string name, std::string help) {
  return gauge_family(std::move(name), std::move(help), {}).with({});
}

Histogram& Registry::histogram(std::string name, std::string help, std::vector<double> bounds) {
  return histogram_family(std::move(name), std::move(help), {}, std::move(bounds)).with({});
}

Family<Counter>& Registry::counter_family(std::string name, std::string help, std::vector<std::string> label_names) {
  return add_family<Counter>(std::move(name), std::move(help), detail::Type::counter, std::move(label_names),
                             [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::gauge_family(std::string name, std::string help, std::vector<std::string> label_names) {
  return add_family<Gauge>(std::move(name), std::move(help), detail::Type::gauge, std::move(label_names),
                           [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::histogram_family(std::string name, std::string help,
                                              std::vector<std::string> label_names, std::vector<double> bounds) {
  check_bounds(name, bounds);
  return add_family<Histogram>(std::move(name), std::move(help), detail::Type::histogram, std::move(label_names),
                               [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); });
}

void Registry::callback_counter(std::string name, std::string help, ReadValue read) {
  callback_counter_family(std::move(name), std::move(help), {}, as_samples(std::move(read)));
}

void Registry::callback_gauge(std::string name, std::string help, ReadValue read) {
  callback_gauge_family(std::move(name), std::move(help), {}, as_samples(std::move(read)));
}

void Registry::callback_counter_family(std::string name, std::string help, std::vector<std::string> label_names,
                                       ReadSamples read) {
  add(std::make_unique<CallbackFamily>(std::move(name), std::move(help), detail::Type::counter,
                                       std::move(label_names), std::move(read)));
}

void Registry::callback_gauge_family(std::string name, std::string help, std::vector<std::string> label_names,
                                     ReadSamples read) {
  add(std::make_unique<CallbackFamily>(std::move(name), std::move(help), detail::Type::gauge,
                                       std::move(label_names), std::move(read)));
}

bool Registry::remove(std::string_view name) {
  const std::lock_guard lock(mutex_);
  const auto found = families_.find(name);
  if (found == families_.end()) return false;
  families_.erase(found);
  return true;
}

std::string Registry::expose() const {
  std::string out;
  expose(out);
  return out;
}

void Registry::expose(std::string& out) const {
  const std::lock_guard lock(mutex_);
  for (const auto& [_, family] : families_) family->write(out);
}

}  // namespace bft::metrics
