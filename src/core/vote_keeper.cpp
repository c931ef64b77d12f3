#include "vote_keeper.hpp"

#include <cassert>

namespace bft::detail {

VoteTally::VoteTally(std::size_t validators)
    : validators_(validators), first_slot_(validators, no_slot), any_senders_(validators) {}

std::uint32_t VoteTally::slot_for(const std::optional<Value>& value) {
  for (std::uint32_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].value == value) return i;
  slots_.push_back(ValueTally{value, 0, SenderSet(validators_)});
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

VoteOutcome VoteTally::add(std::size_t sender, std::uint64_t power, const std::optional<Value>& value) {
  assert(sender < validators_);
  if (const std::uint32_t first = first_slot_[sender]; first != no_slot)
    return slots_[first].value == value ? VoteOutcome::duplicate : VoteOutcome::conflicting;
  return add_certified(sender, power, value);
}

VoteOutcome VoteTally::add_certified(std::size_t sender, std::uint64_t power,
                                     const std::optional<Value>& value) {
  assert(sender < validators_);
  const std::uint32_t slot = slot_for(value);
  if (!slots_[slot].senders.insert(sender)) return VoteOutcome::duplicate;
  slots_[slot].power += power;
  if (first_slot_[sender] == no_slot) first_slot_[sender] = slot;
  if (any_senders_.insert(sender)) any_power_ += power;
  return VoteOutcome::counted;
}

const std::optional<Value>& VoteTally::first_vote_of(std::size_t sender) const {
  assert(has_voted(sender));
  return slots_[first_slot_[sender]].value;
}

bool VoteTally::mark_reported(std::size_t sender) {
  if (!reported_) reported_.emplace(validators_);
  return reported_->insert(sender);
}

std::uint64_t VoteTally::power_for(const std::optional<Value>& value) const {
  const ValueTally* tally = find(value);
  return tally ? tally->power : 0;
}

std::uint64_t VoteTally::power_for(const Value& value) const {
  const ValueTally* tally = find(value);
  return tally ? tally->power : 0;
}

const ValueTally* VoteTally::find(const Value& value) const {
  for (const auto& slot : slots_)
    if (slot.value && *slot.value == value) return &slot;
  return nullptr;
}

const ValueTally* VoteTally::find(const std::optional<Value>& value) const {
  for (const auto& slot : slots_)
    if (slot.value == value) return &slot;
  return nullptr;
}

}  // namespace bft::detail
