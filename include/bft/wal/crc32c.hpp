// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI, ext4 and
// LevelDB: the checksum of every WAL record. Not in Debian's libraries, so written here.
#pragma once

#include <cstdint>
#include <span>

namespace bft::wal {

/// Extends `crc` (the CRC of earlier bytes, 0 for none) over `bytes`:
/// crc32c(a ++ b) == crc32c(b, crc32c(a)).
std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0) noexcept;

}  // namespace bft::wal
