// bft-cluster --rotate and --rotate-out: the operator's validator changes under load. One
// thread, at set times, builds the next change against the set as the changes before it
// made it (a node joins or leaves; the proposer of the moment leaves; the first
// validator's power doubles), signs it with the operator key as the KV application's
// `validator` command, submits it to a node that answers and waits for it to commit, then
// for every node that answers and has reached the commit's height + 2 to report the new set
// in force from there.
// Every wait is bounded; the thread ends by itself after the last change.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bft/crypto/signer.hpp"
#include "cluster/summary.hpp"
#include "load.hpp"

namespace bft::cluster {

struct RotationNode {
  std::string name;
  Endpoint http;
  crypto::PublicKey key{};
};

struct RotationStep {
  enum Kind { add, remove, remove_proposer, double_power };
  Kind kind;
  std::size_t node = 0;  // add, remove: which
};

class Rotation {
 public:
  /// `nodes`: the validators of height 1 first (`validators` of them, power 1 each),
  /// then the full nodes. `steps[i]` is made at `at[i]`, each after the one before it.
  Rotation(std::vector<RotationNode> nodes, std::size_t validators, const crypto::Signer& operator_key,
           std::string chain_id, std::vector<RotationStep> steps, std::vector<std::chrono::steady_clock::time_point> at);
  Rotation(const Rotation&) = delete;
  Rotation& operator=(const Rotation&) = delete;
  ~Rotation();

  void start();
  /// Ends the changes early (interrupt, a node died); the report then says which did not
  /// come. A no-op once the thread is done.
  void stop();
  void join();
  /// Every change made or failed: the thread has ended by itself.
  bool finished() const { return finished_; }
  /// After join(): the changes planned and made, into the run's report (whose late
  /// joiner is the run's to fill).
  void report_into(RotationReport& report) const {
    report.planned = planned_;
    report.applied = changes_.size();
    report.changes = changes_;
  }
  /// After join(): why a change failed, if one did.
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  struct Change {
    std::size_t node;
    std::uint64_t power;
    std::string what;
  };
  void run();
  /// The change `step` makes to the set as it is now.
  bool plan(const RotationStep& step, Change& change);
  /// The proposer of the last committed block leaves.
  bool plan_proposer_leaves(Change& change);
  /// Submits the change as operator sequence `sequence`; true once every node that
  /// answers reports it in force.
  bool apply(const Change& change, std::uint64_t sequence);
  std::string key_hex(std::size_t node) const;

  std::vector<RotationNode> nodes_;
  const crypto::Signer& operator_key_;
  std::string chain_id_;
  std::vector<RotationStep> steps_;
  std::vector<std::chrono::steady_clock::time_point> at_;
  std::map<std::size_t, std::uint64_t> powers_;  // the set as the changes so far made it, by node
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::thread thread_;
  std::size_t planned_ = 0;
  std::vector<std::string> changes_;  // those in force, each with the height it is from
  std::vector<std::string> failures_;
};

}  // namespace bft::cluster
