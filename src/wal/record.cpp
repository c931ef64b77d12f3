#include "bft/wal/record.hpp"

#include <cstring>
#include <string>

namespace bft::wal {

namespace {

enum class Kind : std::uint8_t {
  start_height = 1,
  propose_value = 2,
  proposal = 3,
  vote = 4,
  certificate = 5,
  timeout = 6,
  verify_result = 7,
  own_proposal = 8,
  own_vote = 9,
  peer_signatures = 10,
};

class Writer {
 public:
  Writer(Bytes& out, SegmentValues* values) : out_(out), values_(values), end_(out.size()) {}
  ~Writer() { out_.resize(end_); }  // the room made ahead, trimmed to what was written
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void u8(std::uint8_t v) {
    *room(1) = v;
    ++end_;
  }
  void u32(std::uint32_t v) { little_endian<4>(v); }
  void u64(std::uint64_t v) { little_endian<8>(v); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void bytes(std::span<const std::uint8_t> b) {
    u32(static_cast<std::uint32_t>(b.size()));
    if (b.empty()) return;
    std::memcpy(room(b.size()), b.data(), b.size());
    end_ += b.size();
  }
  void value(const Value& v) {
    if (values_ != nullptr) {
      if (const auto index = values_->find(v)) {
        u8(1);
        u32(*index);
        return;
      }
    }
    u8(0);
    bytes(v.bytes());
    if (values_ != nullptr) values_->stage(v);
  }
  void vote(const Vote& v) {
    u8(static_cast<std::uint8_t>(v.type));
    u64(v.height);
    i64(v.round);
    u8(v.value ? 1 : 0);
    if (v.value) value(*v.value);
    bytes(v.voter.bytes());
  }
  void votes(const std::vector<Vote>& vs) {
    u32(static_cast<std::uint32_t>(vs.size()));
    for (const Vote& v : vs) vote(v);
  }
  void proposal(const Proposal& p) {
    u64(p.height);
    i64(p.round);
    i64(p.valid_round);
    value(p.value);
    bytes(p.proposer.bytes());
    votes(p.lock_votes);
  }
  void rule(const TimeoutRule& r) {
    i64(r.base.count());
    i64(r.per_round.count());
  }

 private:
  // Where the next n bytes go. The buffer grows ahead of the writes, a few hundred bytes
  // at a time, so that most fields are plain stores: the log encodes every input a node
  // handles.
  std::uint8_t* room(std::size_t n) {
    if (out_.size() - end_ < n) out_.resize(end_ + n + 256);
    return out_.data() + end_;
  }
  template <std::size_t N>
  void little_endian(std::uint64_t v) {
    std::uint8_t* at = room(N);
    for (std::size_t i = 0; i < N; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
    end_ += N;
  }

  Bytes& out_;
  SegmentValues* values_;
  std::size_t end_;  // what was written ends here; out_ may hold room beyond
};

// The least a vote takes: a nil vote with an empty voter.
constexpr std::size_t min_vote_bytes = 1 + 8 + 8 + 1 + 4;

class Reader {
 public:
  Reader(std::span<const std::uint8_t> in, SegmentValues* values) : in_(in), values_(values) {}
  /// Version 1 wrote every value out, without a tag.
  void set_version(std::uint8_t version) { version_ = version; }
  bool failed() const { return failed_; }
  bool at_end() const { return pos_ == in_.size(); }
  std::size_t pos() const { return pos_; }

  std::uint8_t u8() {
    if (!need(1)) return 0;
    return in_[pos_++];
  }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{in_[pos_++]} << (8 * i);
    return v;
  }
  std::uint64_t u64() {
    if (!need(8)) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{in_[pos_++]} << (8 * i);
    return v;
  }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  std::span<const std::uint8_t> bytes() {
    const std::uint32_t n = u32();
    if (!need(n)) return {};
    auto b = in_.subspan(pos_, n);
    pos_ += n;
    return b;
  }
  bool flag() {
    const std::uint8_t v = u8();
    if (v > 1) failed_ = true;
    return v == 1;
  }
  Value value() {
    if (version_ == 1) return Value(bytes());
    const std::uint8_t tag = u8();
    if (tag == 0) {
      Value v(bytes());
      if (!failed_ && values_ != nullptr) values_->stage(v);
      return v;
    }
    const std::uint32_t index = tag == 1 ? u32() : 0;
    const Value* named = tag == 1 && !failed_ && values_ != nullptr ? values_->at(index) : nullptr;
    if (named == nullptr) {
      failed_ = true;
      return {};
    }
    return *named;
  }
  Vote vote() {
    Vote v;
    const std::uint8_t type = u8();
    if (type != 1 && type != 2) failed_ = true;
    v.type = static_cast<VoteType>(type);
    v.height = u64();
    v.round = i64();
    if (flag()) v.value = value();
    v.voter = Address(bytes());
    return v;
  }
  std::vector<Vote> votes() {
    const std::uint32_t n = u32();
    // a count beyond what the bytes left can hold is malformed
    if (failed_ || n > (in_.size() - pos_) / min_vote_bytes) {
      failed_ = true;
      return {};
    }
    std::vector<Vote> vs;
    vs.reserve(n);
    for (std::uint32_t i = 0; i < n && !failed_; ++i) vs.push_back(vote());
    return vs;
  }
  Proposal proposal() {
    Proposal p;
    p.height = u64();
    p.round = i64();
    p.valid_round = i64();
    p.value = value();
    p.proposer = Address(bytes());
    p.lock_votes = votes();
    return p;
  }
  TimeoutRule rule() {
    TimeoutRule r;
    r.base = Duration{i64()};
    r.per_round = Duration{i64()};
    return r;
  }

 private:
  bool need(std::size_t n) {
    if (failed_ || in_.size() - pos_ < n) {
      failed_ = true;
      return false;
    }
    return true;
  }
  std::span<const std::uint8_t> in_;
  SegmentValues* values_;
  std::uint8_t version_ = record_version;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace

std::optional<std::uint32_t> SegmentValues::find(const Value& value) const {
  if (value.size() < min_indexed_size) return std::nullopt;
  // Newest first: a record names the value of the round in flight.
  for (std::size_t i = values_.size(); i-- > 0;)
    if (values_[i] == value) return static_cast<std::uint32_t>(i);
  return std::nullopt;
}

const Value* SegmentValues::at(std::uint32_t index) const { return index < values_.size() ? &values_[index] : nullptr; }

void SegmentValues::stage(const Value& value) {
  if (value.size() >= min_indexed_size) values_.push_back(value);
}

Record record_of(Input input) {
  return std::visit([](auto&& in) -> Record { return Record{std::move(in)}; }, std::move(input));
}

std::optional<Input> input_of(const Record& record) {
  return std::visit(
      [](const auto& r) -> std::optional<Input> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, OwnProposal> || std::is_same_v<T, OwnVote> ||
                      std::is_same_v<T, PeerSignatures>) {
          return std::nullopt;
        } else {
          return Input{r};
        }
      },
      record);
}

bool is_own(const Record& record) noexcept {
  return std::holds_alternative<OwnProposal>(record) || std::holds_alternative<OwnVote>(record);
}

namespace {

// A Record, or an Input: the record of an input is the same bytes.
template <class Variant>
void encode_variant(const Variant& record, Bytes& out, SegmentValues* values) {
  Writer w(out, values);
  w.u8(record_version);
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, StartHeight>) {
          w.u8(static_cast<std::uint8_t>(Kind::start_height));
          w.u64(r.height);
          w.u32(static_cast<std::uint32_t>(r.validators.size()));
          for (std::size_t i = 0; i < r.validators.size(); ++i) {
            w.bytes(r.validators[i].address.bytes());
            w.u64(r.validators[i].power);
            w.u64(r.validators[i].propose_weight);
          }
          w.u8(r.config ? 1 : 0);
          if (r.config) {
            w.rule(r.config->propose);
            w.rule(r.config->prevote);
            w.rule(r.config->precommit);
            w.i64(r.config->max_round);
            w.u64(r.config->max_future_rounds_per_sender);
            w.u64(r.config->max_proposals_per_round);
            w.u64(r.config->future_heights);
            w.u64(r.config->max_buffered_per_sender);
            w.u64(r.config->max_pending_verdicts);
          }
        } else if constexpr (std::is_same_v<T, ProposeValue>) {
          w.u8(static_cast<std::uint8_t>(Kind::propose_value));
          w.u64(r.height);
          w.u8(r.round ? 1 : 0);
          if (r.round) w.i64(*r.round);
          w.value(r.value);
        } else if constexpr (std::is_same_v<T, ReceivedProposal>) {
          w.u8(static_cast<std::uint8_t>(Kind::proposal));
          w.u8(static_cast<std::uint8_t>(r.validity));
          w.proposal(r.proposal);
        } else if constexpr (std::is_same_v<T, Vote>) {
          w.u8(static_cast<std::uint8_t>(Kind::vote));
          w.vote(r);
        } else if constexpr (std::is_same_v<T, Certificate>) {
          w.u8(static_cast<std::uint8_t>(Kind::certificate));
          w.votes(r.votes);
        } else if constexpr (std::is_same_v<T, TimeoutFired>) {
          w.u8(static_cast<std::uint8_t>(Kind::timeout));
          w.u8(static_cast<std::uint8_t>(r.kind));
          w.u64(r.height);
          w.i64(r.round);
        } else if constexpr (std::is_same_v<T, VerifyResult>) {
          w.u8(static_cast<std::uint8_t>(Kind::verify_result));
          w.u64(r.height);
          w.i64(r.round);
          w.value(r.value);
          w.u8(r.valid ? 1 : 0);
        } else if constexpr (std::is_same_v<T, OwnProposal>) {
          w.u8(static_cast<std::uint8_t>(Kind::own_proposal));
          w.proposal(r.proposal);
          w.bytes(r.signature);
        } else if constexpr (std::is_same_v<T, OwnVote>) {
          w.u8(static_cast<std::uint8_t>(Kind::own_vote));
          w.vote(r.vote);
          w.bytes(r.signature);
        } else {
          static_assert(std::is_same_v<T, PeerSignatures>);
          w.u8(static_cast<std::uint8_t>(Kind::peer_signatures));
          w.u32(static_cast<std::uint32_t>(r.votes.size()));
          for (std::size_t i = 0; i < r.votes.size(); ++i) {
            w.vote(r.votes[i]);
            w.bytes(r.signatures[i]);
          }
        }
      },
      record);
}

}  // namespace

void encode_record(const Record& record, Bytes& out, SegmentValues* values) { encode_variant(record, out, values); }

void encode_input(const Input& input, Bytes& out, SegmentValues* values) { encode_variant(input, out, values); }

Result<Record> decode_record(std::span<const std::uint8_t> payload, SegmentValues* values) {
  Reader r(payload, values);
  const std::uint8_t version = r.u8();
  if (r.failed()) return make_error(Errc::malformed, "wal record: empty payload");
  if (version != 1 && version != record_version)
    return make_error(Errc::unsupported_version, "wal record: version " + std::to_string(version));
  r.set_version(version);
  const std::uint8_t kind = r.u8();
  std::optional<Record> out;
  switch (static_cast<Kind>(kind)) {
    case Kind::start_height: {
      StartHeight s;
      s.height = r.u64();
      const std::uint32_t n = r.u32();
      if (r.failed() || n > payload.size()) return make_error(Errc::malformed, "wal record: bad validator count");
      std::vector<Validator> vs;
      for (std::uint32_t i = 0; i < n && !r.failed(); ++i) {
        const auto address = r.bytes();
        const std::uint64_t power = r.u64();
        const std::uint64_t weight = r.u64();
        vs.push_back(Validator{Address(address), power, weight});
      }
      if (r.failed()) break;
      auto set = ValidatorSet::create(std::move(vs));
      if (!set) return make_error(Errc::malformed, "wal record: validator set: " + set.error().message);
      s.validators = std::move(*set);
      if (r.flag()) {
        Config c;
        c.propose = r.rule();
        c.prevote = r.rule();
        c.precommit = r.rule();
        c.max_round = r.i64();
        c.max_future_rounds_per_sender = r.u64();
        c.max_proposals_per_round = r.u64();
        c.future_heights = r.u64();
        c.max_buffered_per_sender = r.u64();
        c.max_pending_verdicts = r.u64();
        s.config = c;
      }
      out = std::move(s);
      break;
    }
    case Kind::propose_value: {
      ProposeValue p;
      p.height = r.u64();
      if (r.flag()) p.round = r.i64();
      p.value = r.value();
      out = std::move(p);
      break;
    }
    case Kind::proposal: {
      ReceivedProposal p;
      const std::uint8_t validity = r.u8();
      if (validity > 2) return make_error(Errc::malformed, "wal record: validity out of range");
      p.validity = static_cast<Validity>(validity);
      p.proposal = r.proposal();
      out = std::move(p);
      break;
    }
    case Kind::vote: out = r.vote(); break;
    case Kind::certificate: out = Certificate{r.votes()}; break;
    case Kind::timeout: {
      TimeoutFired t;
      const std::uint8_t k = r.u8();
      if (k < 1 || k > 3) return make_error(Errc::malformed, "wal record: timeout kind out of range");
      t.kind = static_cast<TimeoutKind>(k);
      t.height = r.u64();
      t.round = r.i64();
      out = t;
      break;
    }
    case Kind::verify_result: {
      VerifyResult v;
      v.height = r.u64();
      v.round = r.i64();
      v.value = r.value();
      v.valid = r.flag();
      out = std::move(v);
      break;
    }
    case Kind::own_proposal: {
      OwnProposal p;
      p.proposal = r.proposal();
      auto sig = r.bytes();
      p.signature.assign(sig.begin(), sig.end());
      out = std::move(p);
      break;
    }
    case Kind::own_vote: {
      OwnVote v;
      v.vote = r.vote();
      auto sig = r.bytes();
      v.signature.assign(sig.begin(), sig.end());
      out = std::move(v);
      break;
    }
    case Kind::peer_signatures: {
      PeerSignatures p;
      const std::uint32_t count = r.u32();
      for (std::uint32_t i = 0; i < count && !r.failed(); ++i) {
        p.votes.push_back(r.vote());
        auto sig = r.bytes();
        p.signatures.emplace_back(sig.begin(), sig.end());
      }
      out = std::move(p);
      break;
    }
    default: return make_error(Errc::malformed, "wal record: unknown kind " + std::to_string(kind));
  }
  if (r.failed() || !out) return make_error(Errc::malformed, "wal record: truncated or out of range");
  if (!r.at_end()) return make_error(Errc::malformed, "wal record: trailing bytes at " + std::to_string(r.pos()));
  return std::move(*out);
}

}  // namespace bft::wal
