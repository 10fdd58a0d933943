// Stable 64-bit hashing of record keys: what assigns a key to a shuffle
// partition (StableHash(k) % num_partitions) and what keys the executor-side
// hash tables of reduceByKey and friends.
//
// "Stable" means the value depends only on the key's logical value: it is
// the same in every process, on every run and on every platform, so map tasks
// on different executors agree on partitions. std::hash guarantees none of
// that, so it is never used. The hash values are pinned by golden tests;
// changing any of them is a wire-format change.
//
//   integers, bool, enums  a strong 64-bit finalizer of the value widened to
//                          64 bits (so sequential keys spread evenly and an
//                          int32 key hashes like the same int64 key; signed
//                          values sign-extend, so -1 and UINT64_MAX agree)
//   float, double          their bits, with -0.0 folded into 0.0
//   strings                a wyhash-style multiply/fold over 8-byte words;
//                          std::string, std::string_view and const char*
//                          agree, so tables can be probed with a view
//   pair, tuple, vector,   element hashes combined in order (vector also
//   optional, structs      mixes its length; empty optional has its own value)
//   with EMBER_FIELDS
//
// Other types opt in by specializing ember::StableHashTraits<T> with
//   static uint64_t Hash(const T&) noexcept;
//
// Thread-safety: all functions are pure and reentrant.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/record.h"  // HasEmberFields

namespace ember {

namespace hash_internal {

// Odd 64-bit constants with well-spread bits (the wyhash primes).
inline constexpr uint64_t kP0 = 0xa0761d6478bd642full;
inline constexpr uint64_t kP1 = 0xe7037ed1a0b428dbull;
inline constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ull;
inline constexpr uint64_t kP3 = 0x589965cc75374cc3ull;
// Distinct seeds keep a string, an empty optional and an empty vector from
// colliding by construction.
inline constexpr uint64_t kStringSeed = 0x9e3779b97f4a7c15ull;
inline constexpr uint64_t kNulloptHash = 0x6a09e667f3bcc908ull;
inline constexpr uint64_t kOptionalSeed = 0xbb67ae8584caa73bull;
inline constexpr uint64_t kSequenceSeed = 0x3c6ef372fe94f82bull;
inline constexpr uint64_t kTupleSeed = 0xa54ff53a5f1d36f1ull;

// 64x64 -> 128 multiply folded to 64 bits: the core mixing step.
inline uint64_t Mum(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// Murmur3's fmix64: full avalanche for integer keys.
inline uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

// Loads are little-endian on every host so the hash is platform-independent.
inline uint64_t Load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) v = record_internal::ByteSwap(v);
  return v;
}
inline uint64_t Load32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) v = record_internal::ByteSwap(v);
  return v;
}
// 1..3 bytes without a loop: first, middle and last byte.
inline uint64_t Load1To3(const unsigned char* p, size_t n) {
  return (static_cast<uint64_t>(p[0]) << 16) | (static_cast<uint64_t>(p[n >> 1]) << 8) | p[n - 1];
}

inline constexpr size_t kShortMax = 16;
inline constexpr size_t kBlock = 48;

inline uint64_t HashBytes(const void* data, size_t len) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t seed = kStringSeed ^ Mum(kStringSeed ^ kP0, kP1);
  uint64_t a = 0;
  uint64_t b = 0;
  if (len <= kShortMax) [[likely]] {
    if (len >= 4) {
      // Two overlapping 4-byte reads at each end cover 4..16 bytes.
      const size_t mid = (len >> 3) << 2;
      a = (Load32(p) << 32) | Load32(p + mid);
      b = (Load32(p + len - 4) << 32) | Load32(p + len - 4 - mid);
    } else if (len > 0) {
      a = Load1To3(p, len);
    }
  } else {
    size_t i = len;
    if (i > kBlock) {
      // Three independent lanes so the multiplies pipeline.
      uint64_t s1 = seed;
      uint64_t s2 = seed;
      do {
        seed = Mum(Load64(p) ^ kP1, Load64(p + 8) ^ seed);
        s1 = Mum(Load64(p + 16) ^ kP2, Load64(p + 24) ^ s1);
        s2 = Mum(Load64(p + 32) ^ kP3, Load64(p + 40) ^ s2);
        p += kBlock;
        i -= kBlock;
      } while (i > kBlock);
      seed ^= s1 ^ s2;
    }
    while (i > kShortMax) {
      seed = Mum(Load64(p) ^ kP1, Load64(p + 8) ^ seed);
      p += kShortMax;
      i -= kShortMax;
    }
    // The last 16 bytes, overlapping what was already consumed if needed.
    a = Load64(p + i - 16);
    b = Load64(p + i - 8);
  }
  a ^= kP1;
  b ^= seed;
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  a = static_cast<uint64_t>(r);
  b = static_cast<uint64_t>(r >> 64);
  return Mum(a ^ kP0 ^ len, b ^ kP1);
}

inline uint64_t HashInteger(uint64_t v) {
  return Fmix64(v ^ kP3);
}

// Order-dependent combination of element hashes.
inline uint64_t Combine(uint64_t h, uint64_t element) {
  return Mum(h ^ kP0, element ^ kP2);
}

}  // namespace hash_internal

// The customization point; undefined for unsupported types.
template <class T, class Enable = void>
struct StableHashTraits;

template <class T>
concept StableHashable = requires(const T& v) {
  { StableHashTraits<T>::Hash(v) } -> std::same_as<uint64_t>;
};

template <class T>
inline uint64_t StableHash(const T& v) {
  static_assert(StableHashable<T>,
                "ember::StableHash: unsupported key type; add EMBER_FIELDS(...) to the struct "
                "or specialize ember::StableHashTraits<T>");
  return StableHashTraits<T>::Hash(v);
}

template <class T>
requires(std::is_integral_v<T> || std::is_enum_v<T>) struct StableHashTraits<T> {
  static uint64_t Hash(T v) noexcept {
    if constexpr (std::is_enum_v<T>) {
      return StableHashTraits<std::underlying_type_t<T>>::Hash(
          static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (std::is_signed_v<T>) {
      return hash_internal::HashInteger(static_cast<uint64_t>(static_cast<int64_t>(v)));
    } else {
      return hash_internal::HashInteger(static_cast<uint64_t>(v));
    }
  }
};

template <class T>
requires std::is_floating_point_v<T> &&
    (sizeof(T) == 4 || sizeof(T) == 8) struct StableHashTraits<T> {
  static uint64_t Hash(T v) noexcept {
    using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    if (v == T(0)) v = T(0);  // -0.0 == 0.0, so they must hash alike
    return hash_internal::HashInteger(std::bit_cast<Bits>(v));
  }
};

template <>
struct StableHashTraits<std::string_view> {
  static uint64_t Hash(std::string_view v) noexcept {
    return hash_internal::HashBytes(v.data(), v.size());
  }
};
template <>
struct StableHashTraits<std::string> {
  static uint64_t Hash(const std::string& v) noexcept {
    return hash_internal::HashBytes(v.data(), v.size());
  }
};
template <>
struct StableHashTraits<const char*> {
  static uint64_t Hash(const char* v) noexcept {
    return hash_internal::HashBytes(v, std::strlen(v));
  }
};

template <StableHashable A, StableHashable B>
struct StableHashTraits<std::pair<A, B>> {
  static uint64_t Hash(const std::pair<A, B>& v) noexcept {
    using hash_internal::Combine;
    return Combine(Combine(hash_internal::kTupleSeed, StableHash(v.first)), StableHash(v.second));
  }
};

namespace hash_internal {
template <class Tuple, size_t... I>
uint64_t HashElements(const Tuple& t, std::index_sequence<I...>) {
  uint64_t h = kTupleSeed;
  ((h = Combine(h,
                StableHash(static_cast<const std::remove_cvref_t<std::tuple_element_t<I, Tuple>>&>(
                    std::get<I>(t))))),
   ...);
  return h;
}

template <class Tuple>
struct AllHashable : std::false_type {};
template <class... E>
struct AllHashable<std::tuple<E...>>
    : std::bool_constant<(StableHashable<std::remove_cvref_t<E>> && ...)> {};
}  // namespace hash_internal

// A pair and the 2-tuple of the same values hash alike.
template <StableHashable... E>
struct StableHashTraits<std::tuple<E...>> {
  static uint64_t Hash(const std::tuple<E...>& v) noexcept {
    return hash_internal::HashElements(v, std::index_sequence_for<E...>{});
  }
};

template <StableHashable T, class Alloc>
struct StableHashTraits<std::vector<T, Alloc>> {
  static uint64_t Hash(const std::vector<T, Alloc>& v) noexcept {
    uint64_t h = hash_internal::Combine(hash_internal::kSequenceSeed, v.size());
    for (const auto& e : v) h = hash_internal::Combine(h, StableHash(static_cast<const T&>(e)));
    return h;
  }
};

// Arrays of bytes hash as their bytes; others as a sequence, like vectors.
template <StableHashable T, size_t N>
struct StableHashTraits<std::array<T, N>> {
  static uint64_t Hash(const std::array<T, N>& v) noexcept {
    if constexpr (sizeof(T) == 1 && std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      return hash_internal::HashBytes(reinterpret_cast<const char*>(v.data()), N);
    } else {
      uint64_t h = hash_internal::Combine(hash_internal::kSequenceSeed, N);
      for (const T& e : v) h = hash_internal::Combine(h, StableHash(e));
      return h;
    }
  }
};

template <StableHashable T>
struct StableHashTraits<std::optional<T>> {
  static uint64_t Hash(const std::optional<T>& v) noexcept {
    if (!v.has_value()) return hash_internal::kNulloptHash;
    return hash_internal::Combine(hash_internal::kOptionalSeed, StableHash(*v));
  }
};

// Structs with EMBER_FIELDS hash like the tuple of their fields.
template <class T>
requires HasEmberFields<T> && hash_internal::AllHashable<
    decltype(std::declval<const T&>().ember_fields())>::value struct StableHashTraits<T> {
  static uint64_t Hash(const T& v) noexcept {
    const auto fields = v.ember_fields();
    return hash_internal::HashElements(
        fields, std::make_index_sequence<std::tuple_size_v<std::remove_cv_t<decltype(fields)>>>{});
  }
};

// A hash functor for unordered containers. For string keys it is transparent:
// with std::equal_to<> as the key-equal, a table can be probed with a
// std::string_view without building a std::string.
template <class T>
struct StableHasher {
  using is_transparent = void;
  size_t operator()(const T& v) const noexcept { return static_cast<size_t>(StableHash(v)); }
};

template <>
struct StableHasher<std::string> {
  using is_transparent = void;
  size_t operator()(std::string_view v) const noexcept {
    return static_cast<size_t>(hash_internal::HashBytes(v.data(), v.size()));
  }
  size_t operator()(const std::string& v) const noexcept {
    return static_cast<size_t>(hash_internal::HashBytes(v.data(), v.size()));
  }
  size_t operator()(const char* v) const noexcept {
    return static_cast<size_t>(hash_internal::HashBytes(v, std::strlen(v)));
  }
};

}  // namespace ember
