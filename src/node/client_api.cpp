#include "bft/node/client_api.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "bft/codec/codec.hpp"
#include "bft/codec/hash.hpp"
#include "bft/crypto/key_file.hpp"

namespace bft::node {

namespace {

/// The raw value of `key` in a query string, or nullopt.
std::optional<std::string_view> query_value(std::string_view query, std::string_view key) {
  std::size_t at = 0;
  while (at <= query.size()) {
    const std::size_t end = std::min(query.find('&', at), query.size());
    const std::string_view pair = query.substr(at, end - at);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=')
      return pair.substr(key.size() + 1);
    at = end + 1;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> query_number(std::string_view query, std::string_view key) {
  const auto digits = query_value(query, key);
  if (!digits || digits->empty() || digits->size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : *digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

HttpResponse json_response(const nlohmann::json& body, int status = 200) {
  return HttpResponse{status, "application/json", body.dump() + "\n"};
}

/// GET /blocks?tx_ids=1 lists this much of each transaction's id.
constexpr std::size_t tx_id_prefix_bytes = 8;

/// A page of blocks, or a body of transactions, costs its client one request per this
/// many bytes read and hashed, against the HTTP server's per-client budget.
constexpr std::size_t cost_unit_bytes = 64 << 10;

HttpResponse text_response(int status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8", std::move(body) + "\n"};
}


/// The transactions of a POST /txs body: one per line, or the whole body as one.
std::vector<Tx> transactions_of(const HttpRequest& request) {
  std::vector<Tx> txs;
  const std::string_view body = request.body;
  if (request.content_type.rfind("application/octet-stream", 0) == 0) {
    if (!body.empty()) txs.emplace_back(body.begin(), body.end());
    return txs;
  }
  std::size_t at = 0;
  while (at < body.size()) {
    const std::size_t end = std::min(body.find('\n', at), body.size());
    std::string_view line = body.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) txs.emplace_back(line.begin(), line.end());
    at = end + 1;
  }
  return txs;
}

/// A transaction id in hex (64 digits, either case), or nullopt.
std::optional<TxId> parse_tx_id(std::string_view hex) {
  TxId id{};
  if (hex.size() != 2 * id.size()) return std::nullopt;
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < id.size(); ++i) {
    const int high = digit(hex[2 * i]);
    const int low = digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    id[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return id;
}

void describe_committed(nlohmann::json& out, const CommittedTx& committed) {
  out["status"] = "committed";
  out["height"] = committed.height;
  out["index"] = committed.index;
  out["code"] = committed.code;
  out["log"] = committed.log;
}

/// The HTTP status of a refused transaction.
int refusal_status(const SubmitResult& result) {
  if (result.refused) return 400;
  switch (result.error->code) {
    case Errc::too_large: return 413;
    case Errc::buffer_full: return 503;
    default: return 400;
  }
}

}  // namespace

ClientApi::ClientApi(std::string node_name, Blockchain& chain, const StatusBoard& status,
                     const metrics::Registry* metrics, ClientApiLimits limits, Broadcast broadcast)
    : name_(std::move(node_name)),
      chain_(chain),
      status_(status),
      metrics_(metrics),
      limits_(limits),
      broadcast_(std::move(broadcast)) {}

HttpResponse ClientApi::handle(const HttpRequest& request) const {
  if (request.path == "/txs") {
    if (request.method != "POST") return text_response(405, "use POST");
    return submit(request);
  }
  if (request.method != "GET") return text_response(405, "use GET");
  if (request.path.rfind("/kv/", 0) == 0) {
    const auto key = percent_decode(std::string_view(request.path).substr(4));
    if (!key) return text_response(400, "a '%' in the key is not followed by two hex digits");
    const QueryResult answer = chain_.application().query({"/kv", Bytes(key->begin(), key->end())});
    if (answer.code != code_ok) return text_response(404, answer.log);
    return HttpResponse{200, "text/plain; charset=utf-8", std::string(answer.value.begin(), answer.value.end())};
  }
  if (request.path.rfind("/tx/", 0) == 0) return transaction(std::string_view(request.path).substr(4));
  if (request.path == "/abci_query") return query(request.query);
  if (request.path == "/status") return status();
  if (request.path == "/validators") return validators();
  if (request.path == "/metrics" && metrics_)
    return HttpResponse{200, std::string(metrics::exposition_content_type), metrics_->expose()};
  if (request.path == "/blocks") return blocks(request.query);
  return text_response(404,
                       "routes: POST /txs, GET /tx/<id>, /kv/<key>, /abci_query?path=&data=&height=, /status, /validators, "
                       "/metrics, /blocks?from=&to=");
}

/// One POST /txs on its way: what each transaction got, and what it waits for.
struct ClientApi::Submission {
  nlohmann::json outcomes = nlohmann::json::array();
  std::size_t accepted = 0;
  int status = 202;
  std::uint32_t cost = 1;
  bool wait_for_commit = false;
  std::vector<TxId> pooled;                    // accepted (or pooled already): waited for
  std::vector<std::size_t> pooled_at;          // their places in outcomes
  std::mutex mutex;                            // held and wait are set on the node's thread
  bool held = false;                           // by enough peers (or no peer asked)
  std::shared_ptr<TxIndex::Wait> wait;
  bool timed_out = false;
  std::string error;  // why a wait could not start

  HttpResponse answer() const {
    // The outcomes are written where they are, not copied into a body first: a request
    // holds hundreds of transactions.
    std::string body = "{\"accepted\":" + std::to_string(accepted);
    if (!error.empty()) body += ",\"error\":" + nlohmann::json(error).dump();
    body += ",\"txs\":" + outcomes.dump() + "}\n";
    HttpResponse response{status, "application/json", std::move(body)};
    response.cost = cost;
    return response;
  }

  /// The answer when not enough peers hold the pooled transactions (in time).
  HttpResponse answer_not_held() const {
    nlohmann::json txs = outcomes;
    for (const std::size_t at : pooled_at) {
      txs[at]["status"] = "not_held";
      txs[at]["log"] = "pooled by this node only: not enough peers hold it yet; it may still commit, and "
                       "submitting it again is safe";
    }
    nlohmann::json body{{"accepted", 0}, {"txs", std::move(txs)}};
    body["error"] = "the transactions are not held by enough peers";
    return costed(body, 503);
  }

  /// The answer of a wait: each waited-for transaction committed or still pending.
  HttpResponse answer(const std::vector<TxOutcome>& results) const {
    nlohmann::json txs = outcomes;
    std::size_t pending = 0;
    for (std::size_t i = 0; i < results.size() && i < pooled_at.size(); ++i) {
      nlohmann::json& outcome = txs[pooled_at[i]];
      if (results[i].committed) {
        describe_committed(outcome, *results[i].committed);
      } else {
        outcome["status"] = "pending";
        ++pending;
      }
    }
    nlohmann::json body{{"accepted", accepted}, {"pending", pending}, {"txs", std::move(txs)}};
    if (pending > 0) body["timed_out"] = true;
    // 200: everything accepted committed; a refusal keeps its status.
    return costed(body, status == 202 ? (pending > 0 ? 202 : 200) : status);
  }

  /// Every answer is charged what the request cost.
  HttpResponse costed(const nlohmann::json& body, int with_status) const {
    HttpResponse response = json_response(body, with_status);
    response.cost = cost;
    return response;
  }
};

HttpResponse ClientApi::submit(const HttpRequest& request) const {
  std::vector<Tx> txs = transactions_of(request);
  if (txs.empty()) return text_response(400, "no transaction in the body");
  auto submission = std::make_shared<Submission>();
  const std::optional<std::string_view> wait = query_value(request.query, "wait");
  if (wait && *wait != "commit") return text_response(400, "wait= takes one value: commit");
  submission->wait_for_commit = wait.has_value();
  std::chrono::milliseconds timeout = limits_.default_wait;
  if (query_value(request.query, "timeout_ms")) {
    const auto ms = query_number(request.query, "timeout_ms");
    if (!ms || *ms == 0 || *ms > static_cast<std::uint64_t>(limits_.max_wait.count()))
      return text_response(400, "timeout_ms must be a number of milliseconds from 1 to " +
                                    std::to_string(limits_.max_wait.count()));
    timeout = std::chrono::milliseconds(*ms);
  }
  if (submission->wait_for_commit && chain_.tx_index().waiting() >= chain_.tx_index().max_waiters())
    return text_response(503, "too many clients wait for commits; retry later or without wait=commit");
  // Every transaction is hashed and checked: a large body costs as much as many requests.
  submission->cost = static_cast<std::uint32_t>(1 + request.body.size() / cost_unit_bytes);

  // Pooled by this request or pooled already: gossiped before the answer. A retry goes to
  // the peers again, since its first submission may not have reached enough of them.
  std::vector<Tx> to_gossip;
  const std::vector<SubmitResult> submitted = chain_.submit(txs);
  for (std::size_t i = 0; i < txs.size(); ++i) {
    Tx& tx = txs[i];
    const SubmitResult& result = submitted[i];
    nlohmann::json outcome{{"id", crypto::to_hex(result.id)}};
    // Pooled already (a client's retry, or the same command sent to two nodes): as
    // good as accepted, so that retrying a request is safe.
    if (result.accepted() || (result.error && result.error->code == Errc::duplicate)) {
      ++submission->accepted;
      outcome["status"] = "accepted";
      submission->pooled.push_back(result.id);
      submission->pooled_at.push_back(submission->outcomes.size());
      to_gossip.push_back(std::move(tx));
    } else if (result.committed) {
      // A retry of a committed transaction: done, and not pooled again.
      describe_committed(outcome, *result.committed);
    } else {
      if (submission->status == 202) submission->status = refusal_status(result);
      outcome["status"] = "refused";
      if (result.refused) {
        outcome["code"] = result.refused->code;
        outcome["log"] = result.refused->log;
      } else {
        outcome["error"] = to_string(result.error->code);
        outcome["log"] = result.error->message;
      }
    }
    submission->outcomes.push_back(std::move(outcome));
  }
  const bool gossip = broadcast_ && !to_gossip.empty();
  if (!gossip && (!submission->wait_for_commit || submission->pooled.empty())) return submission->answer();

  TxIndex& index = chain_.tx_index();
  auto later = std::make_shared<HttpLater>(
      submission->wait_for_commit ? timeout : limits_.gossip_wait, [submission, &index]() {
        std::shared_ptr<TxIndex::Wait> registered;
        {
          const std::lock_guard lock(submission->mutex);
          registered = submission->wait;
          submission->timed_out = true;
          if (!submission->held) return submission->answer_not_held();
        }
        if (!submission->wait_for_commit) return submission->answer();
        // Cancelled, or finished just now (its answer lost the race): either way, as things stand.
        std::optional<std::vector<TxOutcome>> results = index.cancel(registered);
        if (!results) {
          results.emplace();
          for (const TxId& id : submission->pooled) results->push_back({id, index.find(id)});
        }
        return submission->answer(*results);
      });
  // Once enough peers hold the transactions: answer, or start waiting for their commit.
  auto after_gossip = [submission, later, &index](bool held) {
    if (!held) return later->complete([submission] { return submission->answer_not_held(); });
    {
      const std::lock_guard lock(submission->mutex);
      submission->held = true;
    }
    if (!submission->wait_for_commit) return later->complete([submission] { return submission->answer(); });
    auto waited = index.wait(submission->pooled, [submission, later](std::vector<TxOutcome> results) {
      later->complete([submission, results = std::move(results)] { return submission->answer(results); });
    });
    if (!waited) {
      submission->status = 503;
      submission->error = "too many clients wait for commits; the transactions are pooled";
      return later->complete([submission] { return submission->answer(); });
    }
    const std::lock_guard lock(submission->mutex);
    // The timeout came before the peers held them: nobody will cancel this wait but us.
    if (submission->timed_out) index.cancel(*waited);
    submission->wait = *waited;
  };
  if (gossip)
    broadcast_(std::move(to_gossip), std::move(after_gossip));
  else
    after_gossip(true);
  HttpResponse response;
  response.later = std::move(later);
  return response;
}

HttpResponse ClientApi::transaction(std::string_view hex) const {
  const auto id = parse_tx_id(hex);
  if (!id) return text_response(400, "a transaction id is 64 hex digits (the SHA-256 of its bytes)");
  nlohmann::json answer{{"id", crypto::to_hex(*id)}};
  // A committed transaction leaves the pool just before the index records it (both on the
  // node's thread, microseconds apart): asked in between it is in neither, so the index
  // is asked again before the answer is unknown.
  if (auto committed = chain_.tx_index().find(*id)) {
    describe_committed(answer, *committed);
  } else if (chain_.mempool().contains(*id)) {
    answer["status"] = "pending";
  } else if (auto late = chain_.tx_index().find(*id)) {
    describe_committed(answer, *late);
  } else {
    answer["status"] = "unknown";
  }
  return json_response(answer);
}

HttpResponse ClientApi::query(std::string_view query) const {
  const auto path = percent_decode(query_value(query, "path").value_or(""));
  const auto data = percent_decode(query_value(query, "data").value_or(""));
  if (!path || !data) return text_response(400, "a '%' in path or data is not followed by two hex digits");
  const auto height = query_number(query, "height");
  if (!height && query_value(query, "height")) return text_response(400, "height must be a number");
  const QueryResult answer = chain_.application().query({*path, Bytes(data->begin(), data->end()), height.value_or(0)});
  return json_response({{"code", answer.code},
                        {"log", answer.log},
                        {"value_hex", crypto::to_hex(answer.value)},
                        {"height", answer.height}});
}

HttpResponse ClientApi::status() const {
  const NodeStatus status = status_.read();
  const ReplicaStats& stats = status.replica;
  return json_response({{"name", name_},
                        {"height", chain_.committed_height()},
                        {"base", chain_.store().base()},
                        {"round", status.round},
                        {"app_hash", crypto::to_hex(chain_.app_hash())},
                        {"mempool", chain_.mempool().size()},
                        {"peers", status.peers},
                        {"txs_committed", chain_.txs_committed()},
                        {"frames_rejected", stats.frames_rejected},
                        {"blocks_synced", stats.blocks_synced},
                        {"sync_requests_throttled", stats.sync_requests_throttled},
                        {"blocks_unreadable", stats.blocks_unreadable},
                        {"evidence", stats.evidence},
                        {"validators", status.validators ? status.validators->keys.size() : 0},
                        {"validator_set_height", status.validators ? status.validators->height : 0},
                        {"voting", status.voting}});
}

HttpResponse ClientApi::validators() const {
  const NodeStatus status = status_.read();
  nlohmann::json validators = nlohmann::json::array();
  if (status.validators)
    for (const ValidatorKey& validator : status.validators->keys)
      validators.push_back({{"public_key", crypto::to_hex(validator.key)},
                            {"address", crypto::to_hex(crypto::address_of(validator.key).bytes())},
                            {"power", validator.power}});
  return json_response({{"height", status.height},
                        {"from_height", status.validators ? status.validators->height : 0},
                        {"validators", std::move(validators)}});
}

HttpResponse ClientApi::blocks(std::string_view query) const {
  const BlockStore& store = chain_.store();
  const Height tip = store.tip();
  const Height from = std::max<Height>(query_number(query, "from").value_or(1), std::max<Height>(store.base(), 1));
  const Height to = std::min<Height>(query_number(query, "to").value_or(tip), tip);
  const bool with_ids = query_value(query, "tx_ids") == "1";
  nlohmann::json blocks = nlohmann::json::array();
  nlohmann::json answer;
  std::size_t bytes_read = 0;
  if (from <= to) {
    const std::size_t wanted = static_cast<std::size_t>(std::min<Height>(to - from + 1, limits_.max_blocks_per_page));
    auto range = store.read_range(from, wanted, limits_.max_block_bytes_per_page);
    if (!range) return text_response(500, range.error().message);
    for (const StoredBlock& stored : *range) {
      bytes_read += stored.certificate.size();
      auto commit = codec::decode_certificate(stored.certificate);
      if (!commit || !commit->value) return text_response(500, "block " + std::to_string(stored.height) + " is damaged");
      auto block = decode_block_summary(commit->value->bytes());
      if (!block) return text_response(500, "block " + std::to_string(stored.height) + " is damaged");
      blocks.push_back({{"height", stored.height},
                        {"hash", crypto::to_hex(block_hash(commit->value->bytes()))},
                        {"txs", block->tx_count},
                        {"proposer", crypto::to_hex(block->header.proposer.bytes())},
                        {"time_unix_ms", block->header.time_unix_ms},
                        {"app_hash", crypto::to_hex(stored.app_hash)},
                        {"commit_ms", stored.meta.commit_ms},
                        {"decided_unix_ms", stored.meta.decided_unix_ms}});
      if (with_ids) {
        // The first 8 bytes of each id: enough to count transactions by id (bft-cluster's
        // exactly-once check), a quarter of the bytes of whole ids. Only then are the
        // transactions read.
        auto whole = decode_block(commit->value->bytes());
        if (!whole) return text_response(500, "block " + std::to_string(stored.height) + " is damaged");
        std::string prefixes;
        prefixes.reserve(whole->txs.size() * 2 * tx_id_prefix_bytes);
        for (const Tx& tx : whole->txs) {
          const TxId id = tx_id(tx);
          prefixes += crypto::to_hex(std::span(id).first(tx_id_prefix_bytes));
        }
        blocks.back()["tx_id_prefixes"] = std::move(prefixes);
      }
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
