// The 100-byte records of the sort benchmark's gensort tool: a 10-byte
// binary key, then 90 bytes of payload (2 fixed bytes, the row number as 32
// hex digits, 4 fixed bytes, 48 filler letters, 4 fixed bytes). Shared by
// teragen, terasort and teravalidate.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace terasort {

inline constexpr size_t kRecordBytes = 100;
inline constexpr size_t kKeyBytes = 10;

// SplitMix64: a fast, well-mixed generator; key bytes come from the row
// number alone, so a row's record is the same however rows are partitioned.
inline uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

inline std::string MakeRecord(uint64_t row) {
  std::string r(kRecordBytes, '\0');
  const uint64_t a = Mix(row * 2), b = Mix(row * 2 + 1);
  for (size_t i = 0; i < 8; ++i) r[i] = static_cast<char>(a >> (56 - 8 * i));
  r[8] = static_cast<char>(b >> 56);
  r[9] = static_cast<char>(b >> 48);
  r[10] = '\x00';
  r[11] = '\x11';
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < 32; ++i) {
    r[12 + i] = i < 16 ? '0' : kHex[(row >> (4 * (31 - i))) & 0xF];
  }
  r[44] = '\x88';
  r[45] = '\x99';
  r[46] = '\xAA';
  r[47] = '\xBB';
  for (size_t i = 0; i < 48; ++i) r[48 + i] = static_cast<char>('A' + (row + i) % 26);
  r[96] = '\xCC';
  r[97] = '\xDD';
  r[98] = '\xEE';
  r[99] = '\xFF';
  return r;
}

// The same row in gensort's ASCII form (gensort -a): a 10-character
// printable key, then the row number in hex and filler, ending in "\r\n",
// so that line tools (GNU sort) and Ember sort one file alike.
inline std::string MakeAsciiRecord(uint64_t row) {
  std::string r = MakeRecord(row);
  for (size_t i = 0; i < kKeyBytes; ++i) {
    r[i] = static_cast<char>(' ' + static_cast<unsigned char>(r[i]) % 95);
  }
  r[10] = r[11] = r[44] = r[45] = ' ';
  for (size_t i = 46; i < 98; ++i) r[i] = static_cast<char>('A' + (row + i) % 26);
  r[98] = '\r';
  r[99] = '\n';
  return r;
}

// FNV-1a over a record: summed over records it is an order-independent
// checksum of a data set.
inline uint64_t RecordHash(std::string_view record) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (char c : record) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return h;
}

}  // namespace terasort
