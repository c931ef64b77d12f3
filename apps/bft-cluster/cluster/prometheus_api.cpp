#include "cluster/prometheus_api.hpp"

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace bft::cluster {

std::string prometheus_config(const std::vector<ScrapeTarget>& targets, std::chrono::seconds interval) {
  const std::string every = std::to_string(interval.count()) + "s";
  std::string yaml = "global:\n  scrape_interval: " + every + "\n  evaluation_interval: " + every +
                     "\nscrape_configs:\n  - job_name: bftcore\n    static_configs:\n";
  for (const ScrapeTarget& target : targets)
    yaml += "      - targets: ['" + target.address + "']\n        labels:\n          node: '" + target.node + "'\n";
  return yaml;
}

Result<std::vector<PromSample>> parse_instant_vector(std::string_view body) {
  const auto bad = [](const std::string& why) { return make_error(Errc::malformed, "prometheus query: " + why); };
  const nlohmann::json answer = nlohmann::json::parse(body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) return bad("the answer is not a JSON object");
  if (answer.value("status", "") != "success") return bad("status is not success: " + answer.dump());
  const auto data = answer.find("data");
  if (data == answer.end() || !data->is_object() || data->value("resultType", "") != "vector")
    return bad("the result is not an instant vector");
  const auto result = data->find("result");
  if (result == data->end() || !result->is_array()) return bad("no result list");
  std::vector<PromSample> samples;
  for (const nlohmann::json& series : *result) {
    const auto value = series.find("value");
    // [unix time, "value as text"]; the text may be NaN or +Inf.
    if (value == series.end() || !value->is_array() || value->size() != 2 || !(*value)[1].is_string())
      return bad("a series without a [time, value] pair");
    const std::string text = (*value)[1].get<std::string>();
    char* end = nullptr;
    const double number = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') return bad("value '" + text + "' is not a number");
    PromSample sample;
    sample.value = number;
    if (const auto metric = series.find("metric"); metric != series.end() && metric->is_object())
      sample.node = metric->value("node", "");
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::string url_encode(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out += '%';
      out.push_back(digits[u >> 4]);
      out.push_back(digits[u & 0xf]);
    }
  }
  return out;
}

}  // namespace bft::cluster
