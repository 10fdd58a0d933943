// CRC32C (Castagnoli), the checksum on every shuffle block.
//
// Table-driven, slicing-by-8 (about 1 byte per cycle): fast enough that
// checksumming stays well below the cost of the disk and network it guards.
// Values match the iSCSI / ext4 / RFC 3720 definition, e.g.
// Crc32c("123456789") == 0xE3069283.
//
// Thread-safety: pure functions; the tables are constant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ember::shuffle {

// Continues a CRC: Crc32cExtend(Crc32c(a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

inline uint32_t Crc32c(std::string_view data) {
  return Crc32cExtend(0, data.data(), data.size());
}

}  // namespace ember::shuffle
