#include "bank.hpp"

#include <bft/codec/hash.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace bank {

namespace {

constexpr const char* state_file = "bank.state";

bool valid_account(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

/// "name balance\n" per account, in account order: the state file and the app hash's input.
std::string serialize(const Balances& balances) {
  std::string out;
  for (const auto& [name, balance] : balances) out += name + " " + std::to_string(balance) + "\n";
  return out;
}

bft::codec::Digest hash_of(const Balances& balances) {
  const std::string text = serialize(balances);
  return bft::codec::sha256({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

bft::Error io_error(const std::string& what) { return {bft::Errc::io_error, what + ": " + std::strerror(errno)}; }

bool fsync_path(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return false;
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced;
}

}  // namespace

std::optional<Transfer> parse_transfer(std::span<const std::uint8_t> tx, std::string& why) {
  const std::string text(tx.begin(), tx.end());
  std::istringstream words(text);
  std::string verb, amount_text, extra;
  Transfer transfer;
  if (!(words >> verb >> transfer.from >> transfer.to >> amount_text) || (words >> extra) || verb != "transfer") {
    why = "expected: transfer <from> <to> <amount>";
    return std::nullopt;
  }
  if (!valid_account(transfer.from) || !valid_account(transfer.to) || transfer.from == transfer.to) {
    why = "accounts are 1-32 of [a-z0-9_], and two different ones";
    return std::nullopt;
  }
  const auto [end, error] = std::from_chars(amount_text.data(), amount_text.data() + amount_text.size(), transfer.amount);
  if (error != std::errc{} || end != amount_text.data() + amount_text.size() || transfer.amount == 0) {
    why = "the amount is a positive decimal";
    return std::nullopt;
  }
  return transfer;
}

BankApplication::BankApplication(std::filesystem::path directory, Balances balances, bft::Height height)
    : directory_(std::move(directory)), committed_(std::move(balances)), height_(height) {}

bft::Result<std::unique_ptr<BankApplication>> BankApplication::open(const std::filesystem::path& directory,
                                                                    Balances genesis) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return bft::Error{bft::Errc::io_error, "cannot create " + directory.string() + ": " + ec.message()};
  std::ifstream in(directory / state_file);
  if (!in) return std::unique_ptr<BankApplication>(new BankApplication(directory, std::move(genesis), 0));
  bft::Height height = 0;
  Balances balances;
  std::string name;
  std::uint64_t balance = 0;
  if (!(in >> height)) return bft::Error{bft::Errc::corrupt_log, "bank.state: no height"};
  while (in >> name >> balance) balances[name] = balance;
  if (!in.eof()) return bft::Error{bft::Errc::corrupt_log, "bank.state: a line is not '<account> <balance>'"};
  return std::unique_ptr<BankApplication>(new BankApplication(directory, std::move(balances), height));
}

bft::node::AppInfo BankApplication::info() {
  const std::lock_guard lock(mutex_);
  return {height_, hash_of(committed_), "bank/1"};
}

bft::node::CheckTxResult BankApplication::check_tx(std::span<const std::uint8_t> tx, bft::node::CheckTxKind) {
  std::string why;
  const auto transfer = parse_transfer(tx, why);
  if (!transfer) return {code_malformed, why};
  const std::lock_guard lock(mutex_);
  const auto from = committed_.find(transfer->from);
  if (from == committed_.end() || !committed_.contains(transfer->to)) return {code_unknown_account, "unknown account"};
  if (from->second < transfer->amount) return {code_insufficient_funds, "insufficient funds"};
  return {};
}

bool BankApplication::process_proposal(const bft::node::ProcessProposalRequest& request) {
  // Funds depend on the order within the block and are judged in finalize_block; a
  // block of transfers that do not even parse comes from a faulty proposer.
  std::string why;
  for (const bft::node::Tx& tx : request.txs)
    if (!parse_transfer(tx, why)) return false;
  return true;
}

bft::Result<bft::node::FinalizeBlockResult> BankApplication::finalize_block(
    const bft::node::FinalizeBlockRequest& request) {
  Pending next{request.header.height, {}};
  {
    const std::lock_guard lock(mutex_);
    if (request.header.height != height_ + 1)
      return bft::Error{bft::Errc::invalid_argument, "a block of height " + std::to_string(request.header.height) +
                                                         " after " + std::to_string(height_)};
    next.balances = committed_;
  }
  bft::node::FinalizeBlockResult result;
  for (const bft::node::Tx& tx : request.txs) {
    std::string why;
    const auto transfer = parse_transfer(tx, why);
    if (!transfer) {
      result.tx_results.push_back({code_malformed, why, {}});
      continue;
    }
    const auto from = next.balances.find(transfer->from);
    const auto to = next.balances.find(transfer->to);
    if (from == next.balances.end() || to == next.balances.end()) {
      result.tx_results.push_back({code_unknown_account, "unknown account", {}});
    } else if (from->second < transfer->amount) {
      result.tx_results.push_back({code_insufficient_funds, "insufficient funds", {}});
    } else {
      from->second -= transfer->amount;
      to->second += transfer->amount;
      result.tx_results.push_back({});
    }
  }
  result.app_hash = hash_of(next.balances);
  pending_ = std::move(next);
  return result;
}

bft::Result<bft::node::CommitResult> BankApplication::commit() {
  if (!pending_) return bft::Error{bft::Errc::invalid_argument, "commit without a finalized block"};
  const std::filesystem::path temporary = directory_ / "bank.state.new";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << pending_->height << "\n" << serialize(pending_->balances);
    if (!out.flush()) return io_error("write " + temporary.string());
  }
  if (!fsync_path(temporary, O_RDONLY)) return io_error("fsync " + temporary.string());
  if (std::rename(temporary.c_str(), (directory_ / state_file).c_str()) != 0) return io_error("rename");
  if (!fsync_path(directory_, O_RDONLY | O_DIRECTORY)) return io_error("fsync " + directory_.string());
  const std::lock_guard lock(mutex_);
  committed_ = std::move(pending_->balances);
  height_ = pending_->height;
  pending_.reset();
  return bft::node::CommitResult{};
}

bft::node::QueryResult BankApplication::query(const bft::node::QueryRequest& request) {
  const std::lock_guard lock(mutex_);
  if (request.path != "/balance") return {code_malformed, "paths: /balance", {}, height_};
  const auto found = committed_.find(std::string_view(reinterpret_cast<const char*>(request.data.data()), request.data.size()));
  if (found == committed_.end()) return {code_unknown_account, "unknown account", {}, height_};
  const std::string balance = std::to_string(found->second);
  return {bft::node::code_ok, "", bft::Bytes(balance.begin(), balance.end()), height_};
}

Balances BankApplication::balances() const {
  const std::lock_guard lock(mutex_);
  return committed_;
}

}  // namespace bank
