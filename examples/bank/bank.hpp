// An account ledger on bftcore: transfers between accounts, balances never negative.
//
//   transaction = "transfer <from> <to> <amount>"   (accounts: 1-32 of [a-z0-9_];
//                                                   amount: a positive decimal)
//
// A transfer is refused in check_tx when it does not parse, names an unknown account or
// the same account twice, or exceeds the sender's committed balance; it is checked again
// in finalize_block against the balances of the block so far, where two transfers that
// each passed check_tx may together overdraw (code_insufficient_funds, nothing moves).
//
// State: the balances, in memory, written by commit() to one file that replaces the
// previous one atomically (write, fsync, rename, fsync the directory). The app hash is
// the SHA-256 of the balances in account order, so it covers the state itself.
#pragma once

#include <bft/node/application.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace bank {

using Balances = std::map<std::string, std::uint64_t, std::less<>>;

inline constexpr std::uint32_t code_malformed = 1;
inline constexpr std::uint32_t code_insufficient_funds = 2;
inline constexpr std::uint32_t code_unknown_account = 3;

struct Transfer {
  std::string from;
  std::string to;
  std::uint64_t amount = 0;
};

/// nullopt (with the reason in `why`) unless `tx` is one well-formed transfer.
std::optional<Transfer> parse_transfer(std::span<const std::uint8_t> tx, std::string& why);

class BankApplication final : public bft::node::Application {
 public:
  /// The state saved in `directory`, or `genesis` at height 0 if there is none.
  static bft::Result<std::unique_ptr<BankApplication>> open(const std::filesystem::path& directory, Balances genesis);

  bft::node::AppInfo info() override;
  bft::node::CheckTxResult check_tx(std::span<const std::uint8_t> tx, bft::node::CheckTxKind kind) override;
  bool process_proposal(const bft::node::ProcessProposalRequest& request) override;
  bft::Result<bft::node::FinalizeBlockResult> finalize_block(const bft::node::FinalizeBlockRequest& request) override;
  bft::Result<bft::node::CommitResult> commit() override;
  /// path "/balance", data: an account → its balance in decimal.
  bft::node::QueryResult query(const bft::node::QueryRequest& request) override;

  /// The committed balances (any thread).
  Balances balances() const;

 private:
  BankApplication(std::filesystem::path directory, Balances balances, bft::Height height);

  const std::filesystem::path directory_;
  mutable std::mutex mutex_;  // the committed state, read by client threads
  Balances committed_;
  bft::Height height_ = 0;
  struct Pending {
    bft::Height height;
    Balances balances;
  };
  std::optional<Pending> pending_;  // finalized, not yet committed (the consensus thread's)
};

}  // namespace bank
