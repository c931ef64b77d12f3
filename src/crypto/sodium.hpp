// libsodium must be initialised once before its random source and its
// implementation-selecting functions are used. Private to bftcrypto.
#pragma once

namespace bft::crypto::detail {

/// Initialises libsodium on first call; aborts if it cannot (no usable random source),
/// since no key could then be generated safely.
void ensure_sodium();

}  // namespace bft::crypto::detail
