#include "bft/node/client_api.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "bft/codec/hash.hpp"
#include "bft/crypto/key_file.hpp"

namespace bft::node {

namespace {

std::optional<std::uint64_t> query_number(std::string_view query, std::string_view key) {
  std::size_t at = 0;
  while (at <= query.size()) {
    const std::size_t end = std::min(query.find('&', at), query.size());
    const std::string_view pair = query.substr(at, end - at);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=') {
      std::uint64_t value = 0;
      const std::string_view digits = pair.substr(key.size() + 1);
      if (digits.empty() || digits.size() > 19) return std::nullopt;
      for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
      }
      return value;
    }
    at = end + 1;
  }
  return std::nullopt;
}

HttpResponse json_response(const nlohmann::json& body, int status = 200) {
  return HttpResponse{status, "application/json", body.dump() + "\n"};
}

/// A page of blocks costs its client one request per this many bytes read and hashed,
/// against the HTTP server's per-client budget.
constexpr std::size_t cost_unit_bytes = 64 << 10;

HttpResponse text_response(int status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8", std::move(body) + "\n"};
}

}  // namespace

ClientApi::ClientApi(std::string node_name, KvApplication& app, const StatusBoard& status,
                     const metrics::Registry* metrics, ClientApiLimits limits)
    : name_(std::move(node_name)), app_(app), status_(status), metrics_(metrics), limits_(limits) {}

HttpResponse ClientApi::handle(const HttpRequest& request) const {
  if (request.path == "/txs") {
    if (request.method != "POST") return text_response(405, "use POST");
    return submit(request);
  }
  if (request.method != "GET") return text_response(405, "use GET");
  if (request.path.rfind("/kv/", 0) == 0) {
    const auto key = percent_decode(std::string_view(request.path).substr(4));
    if (!key) return text_response(400, "a '%' in the key is not followed by two hex digits");
    const auto value = app_.get(*key);
    if (!value) return text_response(404, "not set");
    return HttpResponse{200, "text/plain; charset=utf-8", *value};
  }
  if (request.path == "/status") return status();
  if (request.path == "/metrics" && metrics_)
    return HttpResponse{200, std::string(metrics::exposition_content_type), metrics_->expose()};
  if (request.path == "/blocks") return blocks(request.query);
  return text_response(404, "routes: POST /txs, GET /kv/<key>, /status, /metrics, /blocks?from=&to=");
}

HttpResponse ClientApi::submit(const HttpRequest& request) const {
  auto commands = parse_commands(request.body);
  if (!commands) return text_response(400, commands.error().message);
  const std::size_t count = commands->size();
  if (auto added = app_.submit(std::move(*commands)); !added)
    return text_response(added.error().code == Errc::buffer_full ? 503 : 400, added.error().message);
  return json_response({{"accepted", count}}, 202);
}

HttpResponse ClientApi::status() const {
  const NodeStatus status = status_.read();
  const ReplicaStats& stats = status.replica;
  return json_response({{"name", name_},
                        {"height", app_.committed_height()},
                        {"round", status.round},
                        {"app_hash", crypto::to_hex(app_.app_hash())},
                        {"mempool", app_.mempool_size()},
                        {"peers", status.peers},
                        {"txs_committed", app_.txs_committed()},
                        {"frames_rejected", stats.frames_rejected},
                        {"blocks_synced", stats.blocks_synced},
                        {"sync_requests_throttled", stats.sync_requests_throttled},
                        {"blocks_unreadable", stats.blocks_unreadable},
                        {"evidence", stats.evidence}});
}

HttpResponse ClientApi::blocks(std::string_view query) const {
  const Height tip = app_.committed_height();
  const Height from = std::max<Height>(query_number(query, "from").value_or(1), 1);
  const Height to = std::min<Height>(query_number(query, "to").value_or(tip), tip);
  nlohmann::json blocks = nlohmann::json::array();
  nlohmann::json answer;
  std::size_t bytes_read = 0;
  if (from <= to) {
    const std::size_t wanted = static_cast<std::size_t>(std::min<Height>(to - from + 1, limits_.max_blocks_per_page));
    auto range = app_.store().read_range(from, wanted, limits_.max_block_bytes_per_page);
    if (!range) return text_response(500, range.error().message);
    for (const Block& block : *range) {
      bytes_read += block.value.size() + block.certificate.size();
      const auto commands = decode_block(block.value.bytes());
      blocks.push_back({{"height", block.height},
                        {"hash", crypto::to_hex(codec::sha256(block.value.bytes()))},
                        {"txs", commands ? commands->size() : 0},
                        {"commit_ms", block.meta.commit_ms},
                        {"decided_unix_ms", block.meta.decided_unix_ms}});
    }
    const Height last = range->empty() ? from - 1 : range->back().height;
    if (last < to) answer["next"] = last + 1;
  }
  answer["blocks"] = std::move(blocks);
  HttpResponse response = json_response(answer);
  response.cost = static_cast<std::uint32_t>(1 + bytes_read / cost_unit_bytes);
  return response;
}

}  // namespace bft::node
