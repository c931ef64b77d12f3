// The simulated application: which values nodes propose and which values are valid.
// A valid value is "ok:" followed by anything; Byzantine nodes may propose other bytes,
// which every correct node's application rejects.
#pragma once

#include <string>

#include "bft/types.hpp"

namespace bft::sim {

inline Value proposed_value(Height height, std::size_t proposer) {
  return Value::from_text("ok:" + std::to_string(height) + "." + std::to_string(proposer));
}

inline bool is_valid_value(const Value& value) { return value.view().starts_with("ok:"); }

inline Validity validity_of(const Value& value) {
  return is_valid_value(value) ? Validity::valid : Validity::invalid;
}

}  // namespace bft::sim
