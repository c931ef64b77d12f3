// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI, ext4 and
// LevelDB: the checksum of every WAL record. Not in Debian's libraries, so written here:
// the CPU's crc32 instruction where there is one (x86-64 with SSE4.2), else tables.
#pragma once

#include <cstdint>
#include <span>

namespace bft::wal {

/// Extends `crc` (the CRC of earlier bytes, 0 for none) over `bytes`:
/// crc32c(a ++ b) == crc32c(b, crc32c(a)).
std::uint32_t crc32c(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0) noexcept;

namespace detail {
/// The two ways crc32c() computes, for tests that hold them to the same answers.
std::uint32_t crc32c_tables(std::span<const std::uint8_t> bytes, std::uint32_t crc) noexcept;
/// Whether this CPU has the crc32 instruction; crc32c_instruction() needs it.
bool has_crc32c_instruction() noexcept;
std::uint32_t crc32c_instruction(std::span<const std::uint8_t> bytes, std::uint32_t crc) noexcept;
}  // namespace detail

}  // namespace bft::wal
