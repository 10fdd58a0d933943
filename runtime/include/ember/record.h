// Compact binary encoding of records: how an RDD element becomes bytes in a
// shuffle block, a broadcast or a task result, and back.
//
// The format is not self-describing; writer and reader must agree on the type.
//   bool                 one byte, 0 or 1
//   unsigned integers    LEB128 varint (at most 10 bytes)
//   signed integers      zigzag, then varint (small magnitudes stay small)
//   enums                as their underlying integer type
//   float, double        fixed 4 / 8 bytes, little-endian IEEE 754
//   std::string          varint length, then the bytes
//   std::string_view     same bytes as std::string; decoding yields a view
//                        INTO the reader's input (valid as long as it is)
//   pair, tuple, structs the fields in order, nothing in between
//   vector               varint count, then the elements
//   optional             tag byte 0 (empty) or 1 (then the value)
//   map, unordered_map   varint count, then key/value pairs
//   set, unordered_set   varint count, then the elements
//
// Structs opt in with EMBER_FIELDS inside the struct body:
//   struct Point { int64_t x; std::string label; EMBER_FIELDS(x, label) };
// Other types opt in by specializing ember::Codec<T> with
//   static void Encode(RecordWriter&, const T&);
//   static Status Decode(RecordReader&, T&);
//
// Decoding never trusts its input: malformed bytes (truncated, overlong
// varints, bad tags, out-of-range values, lengths past the end) give a
// DATA_LOSS Status naming what was wrong, never a crash or a huge allocation.
// The happy path is inline templates with no allocation beyond the values
// themselves; error messages are built in out-of-line cold functions.
//
// Thread-safety: RecordWriter and RecordReader are not synchronized; use one
// per thread. The free functions are reentrant.
#pragma once

#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ember/status.h"

namespace ember {

// The longest valid varint: ceil(64 / 7) bytes.
inline constexpr size_t kMaxVarintBytes = 10;

namespace record_internal {

inline constexpr unsigned kVarintPayloadBits = 7;
inline constexpr uint8_t kVarintContinuation = 0x80;
inline constexpr uint8_t kVarintPayloadMask = 0x7f;
// The 10th byte may only carry the single remaining bit of a 64-bit value.
inline constexpr uint8_t kVarintLastByteMax = 0x01;

// Error construction is kept out of line and marked cold so the decode fast
// paths stay small enough to inline.
[[gnu::cold, gnu::noinline]] inline Status Truncated(std::string_view what, size_t need,
                                                     size_t remaining) {
  return DataLossError("record truncated: " + std::string(what) + " needs " + std::to_string(need) +
                       " bytes but " + std::to_string(remaining) + " remain");
}

[[gnu::cold, gnu::noinline]] inline Status LengthPastEnd(std::string_view what, uint64_t length,
                                                         size_t remaining) {
  return DataLossError("record truncated: " + std::string(what) + " " + std::to_string(length) +
                       " exceeds " + std::to_string(remaining) + " remaining bytes");
}

[[gnu::cold, gnu::noinline]] inline Status VarintTruncated(size_t remaining) {
  return DataLossError("record truncated: varint runs past the end (" + std::to_string(remaining) +
                       " remaining bytes)");
}

[[gnu::cold, gnu::noinline]] inline Status VarintOverlong() {
  return DataLossError("malformed varint: longer than " + std::to_string(kMaxVarintBytes) +
                       " bytes");
}

[[gnu::cold, gnu::noinline]] inline Status VarintOverflow() {
  return DataLossError("malformed varint: value overflows 64 bits");
}

[[gnu::cold, gnu::noinline]] inline Status BadTag(std::string_view what, unsigned tag) {
  return DataLossError("malformed record: " + std::string(what) + " tag byte is " +
                       std::to_string(tag) + ", expected 0 or 1");
}

[[gnu::cold, gnu::noinline]] inline Status OutOfRange(std::string_view type, std::string value) {
  return DataLossError("malformed record: value " + value + " out of range for " +
                       std::string(type));
}

[[gnu::cold, gnu::noinline]] inline Status TooManyElements(std::string_view what, uint64_t count,
                                                           size_t remaining) {
  return DataLossError("record truncated: " + std::string(what) + " count " +
                       std::to_string(count) + " exceeds what " + std::to_string(remaining) +
                       " remaining bytes can hold");
}

[[gnu::cold, gnu::noinline]] inline Status DuplicateKey(size_t index) {
  return DataLossError("malformed record: duplicate map key at entry " + std::to_string(index));
}

[[gnu::cold, gnu::noinline]] inline Status DuplicateElement(size_t index) {
  return DataLossError("malformed record: duplicate set element at entry " + std::to_string(index));
}

[[gnu::cold, gnu::noinline]] inline Status TrailingBytes(size_t remaining) {
  return DataLossError("malformed record: " + std::to_string(remaining) +
                       " trailing bytes after the value");
}

template <class T>
constexpr std::string_view IntegerTypeName() {
  if constexpr (std::is_signed_v<T>) {
    if constexpr (sizeof(T) == 1) return "int8";
    if constexpr (sizeof(T) == 2) return "int16";
    if constexpr (sizeof(T) == 4) return "int32";
    if constexpr (sizeof(T) == 8) return "int64";
  } else {
    if constexpr (sizeof(T) == 1) return "uint8";
    if constexpr (sizeof(T) == 2) return "uint16";
    if constexpr (sizeof(T) == 4) return "uint32";
    if constexpr (sizeof(T) == 8) return "uint64";
  }
  return "integer";
}

template <class U>
constexpr U ByteSwap(U v) {
  static_assert(std::is_unsigned_v<U>);
  U out = 0;
  for (size_t i = 0; i < sizeof(U); ++i) {
    out = static_cast<U>((out << 8) | (v & 0xff));
    v = static_cast<U>(v >> 8);
  }
  return out;
}

template <class U>
constexpr U ToLittleEndian(U v) {
  if constexpr (std::endian::native == std::endian::little) {
    return v;
  } else {
    return ByteSwap(v);
  }
}

}  // namespace record_internal

// Appends encoded values to a caller-owned string. Cheap to construct; make
// one per batch of records, or per record, as convenient.
class RecordWriter {
 public:
  explicit RecordWriter(std::string& out) : out_(&out) {}

  void PutVarint(uint64_t v) {
    char buf[kMaxVarintBytes];
    size_t n = 0;
    while (v >= record_internal::kVarintContinuation) {
      buf[n++] = static_cast<char>(static_cast<uint8_t>(v) | record_internal::kVarintContinuation);
      v >>= record_internal::kVarintPayloadBits;
    }
    buf[n++] = static_cast<char>(v);
    out_->append(buf, n);
  }

  void PutRaw(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }

  std::string& buffer() { return *out_; }

 private:
  std::string* out_;  // not owned
};

// Consumes encoded values from a byte range it does not own; the bytes must
// outlive the reader (and any string_view decoded from it).
class RecordReader {
 public:
  explicit RecordReader(std::string_view data)
      : p_(reinterpret_cast<const uint8_t*>(data.data())), end_(p_ + data.size()) {}

  bool AtEnd() const { return p_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

  // DATA_LOSS when the varint is truncated, longer than 10 bytes, or its
  // value does not fit 64 bits. On error nothing is consumed.
  Status GetVarint(uint64_t* v) {
    // Fast path: one-byte varints are the common case (small ints, lengths).
    if (p_ != end_ && *p_ < record_internal::kVarintContinuation) [[likely]] {
      *v = *p_++;
      return Status();
    }
    return GetVarintSlow(v);
  }

  // Copies the next n bytes to p. DATA_LOSS when fewer remain.
  Status GetRaw(void* p, size_t n) {
    if (n > remaining()) [[unlikely]] {
      return record_internal::Truncated("raw read", n, remaining());
    }
    if (n != 0) std::memcpy(p, p_, n);
    p_ += n;
    return Status();
  }

  // Points *out at the next n bytes without copying. DATA_LOSS when fewer
  // remain.
  Status GetView(size_t n, std::string_view* out) {
    if (n > remaining()) [[unlikely]] {
      return record_internal::LengthPastEnd("length", n, remaining());
    }
    *out = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return Status();
  }

 private:
  Status GetVarintSlow(uint64_t* v) {
    using namespace record_internal;
    uint64_t result = 0;
    const size_t avail = remaining();
    for (size_t i = 0; i < kMaxVarintBytes; ++i) {
      if (i == avail) return VarintTruncated(avail);
      const uint8_t byte = p_[i];
      if (i == kMaxVarintBytes - 1 && (byte & kVarintPayloadMask) > kVarintLastByteMax) {
        if (byte & kVarintContinuation) return VarintOverlong();
        return VarintOverflow();
      }
      result |= static_cast<uint64_t>(byte & kVarintPayloadMask) << (kVarintPayloadBits * i);
      if (!(byte & kVarintContinuation)) {
        p_ += i + 1;
        *v = result;
        return Status();
      }
    }
    return VarintOverlong();
  }

  const uint8_t* p_;
  const uint8_t* end_;
};

// The customization point. Left undefined for unsupported types so that
// Encodable<T> is false for them.
template <class T, class Enable = void>
struct Codec;

// True when Codec<T> is complete and has the Encode/Decode pair.
template <class T>
concept Encodable = requires(RecordWriter& w, RecordReader& r, const T& cv, T& v) {
  Codec<T>::Encode(w, cv);
  { Codec<T>::Decode(r, v) } -> std::same_as<Status>;
};

template <class T>
inline void Encode(RecordWriter& w, const T& v) {
  static_assert(Encodable<T>,
                "ember::Encode: type has no ember::Codec; add EMBER_FIELDS(...) to the struct "
                "or specialize ember::Codec<T>");
  Codec<T>::Encode(w, v);
}

template <class T>
inline Status Decode(RecordReader& r, T& v) {
  static_assert(Encodable<T>,
                "ember::Decode: type has no ember::Codec; add EMBER_FIELDS(...) to the struct "
                "or specialize ember::Codec<T>");
  return Codec<T>::Decode(r, v);
}

template <class T>
std::string EncodeToString(const T& v) {
  std::string out;
  RecordWriter w(out);
  Encode(w, v);
  return out;
}

// Decodes exactly one T from `bytes`; DATA_LOSS if bytes remain afterwards.
template <class T>
Result<T> DecodeFromString(std::string_view bytes) {
  static_assert(std::is_default_constructible_v<T>,
                "DecodeFromString needs a default-constructible T");
  RecordReader r(bytes);
  T v{};
  Status s = Decode(r, v);
  if (!s.ok()) return s;
  if (!r.AtEnd()) return record_internal::TrailingBytes(r.remaining());
  return v;
}

// Opts a struct into encoding, hashing and text formatting. Use inside the
// struct body, listing the fields in wire order:
//   struct P { int a; std::string b; EMBER_FIELDS(a, b) };
#define EMBER_FIELDS(...)           \
  auto ember_fields() const {       \
    return ::std::tie(__VA_ARGS__); \
  }                                 \
  auto ember_fields() {             \
    return ::std::tie(__VA_ARGS__); \
  }

namespace record_internal {

template <class Tuple>
struct AllEncodableImpl : std::false_type {};
template <class... E>
struct AllEncodableImpl<std::tuple<E...>>
    : std::bool_constant<(Encodable<std::remove_cvref_t<E>> && ...)> {};

// The fewest bytes any value of T encodes to; bounds element counts so a
// forged count cannot trigger a large allocation.
template <class T, class = void>
struct MinEncodedSize : std::integral_constant<size_t, 1> {};

// Zero-byte elements (e.g. std::tuple<>) cannot be bounded by the input size,
// so their vectors get a fixed cap instead.
inline constexpr uint64_t kMaxZeroSizeElements = uint64_t{1} << 20;

}  // namespace record_internal

// True for structs that used EMBER_FIELDS (shared with hash.h/text_format.h).
template <class T>
concept HasEmberFields = requires(const T& c, T& m) {
  c.ember_fields();
  m.ember_fields();
};

// Whether a value of T owns the bytes it refers to. A std::string_view, a
// span or a pointer decoded from a buffer points into that buffer, which is
// reused once the record moves on (a shuffle block, a read buffer), so such
// types may be decoded in place but never be RDD records, keys or state.
namespace record_internal {
template <class T>
struct OwnsBytesImpl : std::bool_constant<!std::is_pointer_v<T> && !std::is_reference_v<T>> {};
template <class T>
struct OwnsBytesImpl<std::basic_string_view<T>> : std::false_type {};
template <class T, size_t N>
struct OwnsBytesImpl<std::span<T, N>> : std::false_type {};
}  // namespace record_internal

template <class T>
concept OwnsBytes = record_internal::OwnsBytesImpl<std::remove_cv_t<T>>::value;

namespace record_internal {
template <class A, class B>
struct OwnsBytesImpl<std::pair<A, B>> : std::bool_constant<OwnsBytes<A> && OwnsBytes<B>> {};
template <class... E>
struct OwnsBytesImpl<std::tuple<E...>> : std::bool_constant<(OwnsBytes<E> && ...)> {};
template <class T, class Alloc>
struct OwnsBytesImpl<std::vector<T, Alloc>> : std::bool_constant<OwnsBytes<T>> {};
template <class T>
struct OwnsBytesImpl<std::optional<T>> : std::bool_constant<OwnsBytes<T>> {};
template <class K, class V, class Cmp, class Alloc>
struct OwnsBytesImpl<std::map<K, V, Cmp, Alloc>>
    : std::bool_constant<OwnsBytes<K> && OwnsBytes<V>> {};
template <class K, class V, class H, class Eq, class Alloc>
struct OwnsBytesImpl<std::unordered_map<K, V, H, Eq, Alloc>>
    : std::bool_constant<OwnsBytes<K> && OwnsBytes<V>> {};
template <class T, class Cmp, class Alloc>
struct OwnsBytesImpl<std::set<T, Cmp, Alloc>> : std::bool_constant<OwnsBytes<T>> {};
template <class T, class H, class Eq, class Alloc>
struct OwnsBytesImpl<std::unordered_set<T, H, Eq, Alloc>> : std::bool_constant<OwnsBytes<T>> {};
template <class Fields>
struct FieldsOwnBytes : std::false_type {};
template <class... E>
struct FieldsOwnBytes<std::tuple<E...>>
    : std::bool_constant<(OwnsBytes<std::remove_cvref_t<E>> && ...)> {};
template <class T>
requires HasEmberFields<T>
struct OwnsBytesImpl<T> : FieldsOwnBytes<decltype(std::declval<const T&>().ember_fields())> {
};
}  // namespace record_internal

// ---- Scalars ---------------------------------------------------------------

template <>
struct Codec<bool> {
  static void Encode(RecordWriter& w, bool v) {
    const char b = v ? 1 : 0;
    w.PutRaw(&b, 1);
  }
  static Status Decode(RecordReader& r, bool& v) {
    uint8_t b = 0;
    if (r.remaining() < 1) [[unlikely]] {
      return record_internal::Truncated("bool", 1, r.remaining());
    }
    (void)r.GetRaw(&b, 1);
    if (b > 1) [[unlikely]] {
      return record_internal::BadTag("bool", b);
    }
    v = b != 0;
    return Status();
  }
};

template <class T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) struct Codec<T> {
  static void Encode(RecordWriter& w, T v) {
    if constexpr (std::is_signed_v<T>) {
      const int64_t s = v;
      // Zigzag: 0,-1,1,-2,... -> 0,1,2,3,...; right shift of a negative
      // value is arithmetic in C++20.
      w.PutVarint((static_cast<uint64_t>(s) << 1) ^ static_cast<uint64_t>(s >> 63));
    } else {
      w.PutVarint(v);
    }
  }
  static Status Decode(RecordReader& r, T& v) {
    uint64_t u = 0;
    Status s = r.GetVarint(&u);
    if (!s.ok()) [[unlikely]] {
      return s;
    }
    if constexpr (std::is_signed_v<T>) {
      const int64_t x = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
      if constexpr (sizeof(T) < sizeof(int64_t)) {
        if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max()) [[unlikely]] {
          return record_internal::OutOfRange(record_internal::IntegerTypeName<T>(),
                                             std::to_string(x));
        }
      }
      v = static_cast<T>(x);
    } else {
      if constexpr (sizeof(T) < sizeof(uint64_t)) {
        if (u > std::numeric_limits<T>::max()) [[unlikely]] {
          return record_internal::OutOfRange(record_internal::IntegerTypeName<T>(),
                                             std::to_string(u));
        }
      }
      v = static_cast<T>(u);
    }
    return Status();
  }
};

template <class T>
requires std::is_enum_v<T>
struct Codec<T> {
  using Underlying = std::underlying_type_t<T>;
  static void Encode(RecordWriter& w, T v) {
    Codec<Underlying>::Encode(w, static_cast<Underlying>(v));
  }
  static Status Decode(RecordReader& r, T& v) {
    Underlying u{};
    Status s = Codec<Underlying>::Decode(r, u);
    if (!s.ok()) [[unlikely]] {
      return s;
    }
    v = static_cast<T>(u);
    return Status();
  }
};

template <class T>
requires std::is_floating_point_v<T> &&(sizeof(T) == 4 || sizeof(T) == 8) struct Codec<T> {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  static void Encode(RecordWriter& w, T v) {
    const Bits le = record_internal::ToLittleEndian(std::bit_cast<Bits>(v));
    w.PutRaw(&le, sizeof(le));
  }
  static Status Decode(RecordReader& r, T& v) {
    if (r.remaining() < sizeof(Bits)) [[unlikely]] {
      return record_internal::Truncated(sizeof(T) == 4 ? "float" : "double", sizeof(Bits),
                                        r.remaining());
    }
    Bits le = 0;
    (void)r.GetRaw(&le, sizeof(le));
    v = std::bit_cast<T>(record_internal::ToLittleEndian(le));
    return Status();
  }
};

namespace record_internal {
template <class T>
requires std::is_floating_point_v<T>
struct MinEncodedSize<T> : std::integral_constant<size_t, sizeof(T)> {
};
}  // namespace record_internal

// ---- Strings ---------------------------------------------------------------

// A varint length, then the bytes; std::string shares the format. Decoding
// a view points into the reader's input, so it is zero-copy but only valid
// while that input lives.
template <>
struct Codec<std::string_view> {
  static void Encode(RecordWriter& w, std::string_view v) {
    w.PutVarint(v.size());
    w.PutRaw(v.data(), v.size());
  }
  static Status Decode(RecordReader& r, std::string_view& v) {
    uint64_t n = 0;
    Status s = r.GetVarint(&n);
    if (!s.ok()) [[unlikely]] {
      return s;
    }
    if (n > r.remaining()) [[unlikely]] {
      return record_internal::LengthPastEnd("string length", n, r.remaining());
    }
    return r.GetView(static_cast<size_t>(n), &v);
  }
};

template <>
struct Codec<std::string> {
  static void Encode(RecordWriter& w, const std::string& v) {
    Codec<std::string_view>::Encode(w, v);
  }
  static Status Decode(RecordReader& r, std::string& v) {
    std::string_view bytes;
    Status s = Codec<std::string_view>::Decode(r, bytes);
    if (!s.ok()) [[unlikely]] {
      return s;
    }
    v.assign(bytes);  // reuses v's capacity when decoding into the same object
    return Status();
  }
};

// ---- Composites ------------------------------------------------------------

namespace record_internal {

template <class Tuple, size_t... I>
void EncodeElements(RecordWriter& w, const Tuple& t, std::index_sequence<I...>) {
  (Encode(w,
          static_cast<const std::remove_cvref_t<std::tuple_element_t<I, Tuple>>&>(std::get<I>(t))),
   ...);
}

template <class Tuple, size_t... I>
Status DecodeElements(RecordReader& r, Tuple& t, std::index_sequence<I...>) {
  Status s;
  // The fold over && stops at the first failing element.
  (void)((s = Decode(
              r, static_cast<std::remove_cvref_t<std::tuple_element_t<I, Tuple>>&>(std::get<I>(t))),
          s.ok()) &&
         ...);
  return s;
}

template <class... E>
constexpr size_t SumMinSizes() {
  return (size_t{0} + ... + MinEncodedSize<std::remove_cvref_t<E>>::value);
}

template <class A, class B>
struct MinEncodedSize<std::pair<A, B>> : std::integral_constant<size_t, SumMinSizes<A, B>()> {};
template <class... E>
struct MinEncodedSize<std::tuple<E...>> : std::integral_constant<size_t, SumMinSizes<E...>()> {};

template <class Tuple>
struct TupleMinSize;
template <class... E>
struct TupleMinSize<std::tuple<E...>> : std::integral_constant<size_t, SumMinSizes<E...>()> {};

template <class T>
requires HasEmberFields<T>
struct MinEncodedSize<T> : TupleMinSize<decltype(std::declval<const T&>().ember_fields())> {
};

// Validates a decoded element count against the remaining input before any
// allocation happens.
template <class Element>
Status CheckCount(std::string_view what, uint64_t count, size_t remaining) {
  constexpr size_t kMin = MinEncodedSize<Element>::value;
  if constexpr (kMin == 0) {
    if (count > kMaxZeroSizeElements) [[unlikely]] {
      return TooManyElements(what, count, remaining);
    }
  } else {
    if (count > remaining / kMin) [[unlikely]] {
      return TooManyElements(what, count, remaining);
    }
  }
  return Status();
}

}  // namespace record_internal

template <Encodable A, Encodable B>
struct Codec<std::pair<A, B>> {
  static void Encode(RecordWriter& w, const std::pair<A, B>& v) {
    Codec<A>::Encode(w, v.first);
    Codec<B>::Encode(w, v.second);
  }
  static Status Decode(RecordReader& r, std::pair<A, B>& v) {
    Status s = Codec<A>::Decode(r, v.first);
    if (!s.ok()) [[unlikely]] {
      return s;
    }
    return Codec<B>::Decode(r, v.second);
  }
};

template <Encodable... E>
struct Codec<std::tuple<E...>> {
  static void Encode(RecordWriter& w, const std::tuple<E...>& v) {
    record_internal::EncodeElements(w, v, std::index_sequence_for<E...>{});
  }
  static Status Decode(RecordReader& r, std::tuple<E...>& v) {
    return record_internal::DecodeElements(r, v, std::index_sequence_for<E...>{});
  }
};

template <Encodable T, class Alloc>
struct Codec<std::vector<T, Alloc>> {
  static void Encode(RecordWriter& w, const std::vector<T, Alloc>& v) {
    w.PutVarint(v.size());
    if constexpr (std::is_same_v<T, bool>) {
      for (bool b : v) Codec<bool>::Encode(w, b);
    } else {
      for (const T& e : v) Codec<T>::Encode(w, e);
    }
  }
  static Status Decode(RecordReader& r, std::vector<T, Alloc>& v) {
    uint64_t n = 0;
    Status s = r.GetVarint(&n);
    if (!s.ok()) [[unlikely]] {
      return s;
    }
    s = record_internal::CheckCount<T>("vector", n, r.remaining());
    if (!s.ok()) [[unlikely]] {
      return s;
    }
    v.clear();
    v.reserve(static_cast<size_t>(n));
    for (uint64_t i = 0; i < n; ++i) {
      T e{};
      s = Codec<T>::Decode(r, e);
      if (!s.ok()) [[unlikely]] {
        return s;
      }
      v.push_back(std::move(e));
    }
    return Status();
  }
};

// A fixed-size array: its elements, no length (the type says it). Arrays of
// bytes are copied as they are: 100-byte TeraSort records as a key and a
// value array cost no allocation at all.
template <Encodable T, size_t N>
struct Codec<std::array<T, N>> {
  static constexpr bool kBytes =
      sizeof(T) == 1 &&
      (std::is_integral_v<T> || std::is_same_v<T, std::byte>)&&!std::is_same_v<T, bool>;
  static void Encode(RecordWriter& w, const std::array<T, N>& v) {
    if constexpr (kBytes) {
      w.PutRaw(v.data(), N);
    } else {
      for (const T& e : v) Codec<T>::Encode(w, e);
    }
  }
  static Status Decode(RecordReader& r, std::array<T, N>& v) {
    if constexpr (kBytes) {
      return r.GetRaw(v.data(), N);
    } else {
      for (T& e : v) {
        Status s = Codec<T>::Decode(r, e);
        if (!s.ok()) [[unlikely]] {
          return s;
        }
      }
      return Status();
    }
  }
};

template <Encodable T>
struct Codec<std::optional<T>> {
  static void Encode(RecordWriter& w, const std::optional<T>& v) {
    const char tag = v.has_value() ? 1 : 0;
    w.PutRaw(&tag, 1);
    if (v.has_value()) Codec<T>::Encode(w, *v);
  }
  static Status Decode(RecordReader& r, std::optional<T>& v) {
    uint8_t tag = 0;
    if (r.remaining() < 1) [[unlikely]] {
      return record_internal::Truncated("optional tag", 1, r.remaining());
    }
    (void)r.GetRaw(&tag, 1);
    if (tag == 0) {
      v.reset();
      return Status();
    }
    if (tag != 1) [[unlikely]] {
      return record_internal::BadTag("optional", tag);
    }
    if (!v.has_value()) v.emplace();
    return Codec<T>::Decode(r, *v);
  }
};

namespace record_internal {

template <class Map, class K, class V>
struct MapCodec {
  static void Encode(RecordWriter& w, const Map& m) {
    w.PutVarint(m.size());
    for (const auto& [k, v] : m) {
      Codec<K>::Encode(w, k);
      Codec<V>::Encode(w, v);
    }
  }
  static Status Decode(RecordReader& r, Map& m) {
    uint64_t n = 0;
    Status s = r.GetVarint(&n);
    if (!s.ok()) [[unlikely]] {
      return s;
    }
    s = CheckCount<std::pair<K, V>>("map", n, r.remaining());
    if (!s.ok()) [[unlikely]] {
      return s;
    }
    m.clear();
    if constexpr (requires { m.reserve(size_t{0}); }) m.reserve(static_cast<size_t>(n));
    for (uint64_t i = 0; i < n; ++i) {
      K k{};
      V v{};
      s = Codec<K>::Decode(r, k);
      if (!s.ok()) [[unlikely]] {
        return s;
      }
      s = Codec<V>::Decode(r, v);
      if (!s.ok()) [[unlikely]] {
        return s;
      }
      if (!m.emplace(std::move(k), std::move(v)).second) [[unlikely]] {
        return DuplicateKey(static_cast<size_t>(i));
      }
    }
    return Status();
  }
};

template <class Set, class T>
struct SetCodec {
  static void Encode(RecordWriter& w, const Set& set) {
    w.PutVarint(set.size());
    for (const T& v : set) Codec<T>::Encode(w, v);
  }
  static Status Decode(RecordReader& r, Set& set) {
    uint64_t n = 0;
    Status s = r.GetVarint(&n);
    if (!s.ok()) [[unlikely]] {
      return s;
    }
    s = CheckCount<T>("set", n, r.remaining());
    if (!s.ok()) [[unlikely]] {
      return s;
    }
    set.clear();
    if constexpr (requires { set.reserve(size_t{0}); }) set.reserve(static_cast<size_t>(n));
    for (uint64_t i = 0; i < n; ++i) {
      T v{};
      s = Codec<T>::Decode(r, v);
      if (!s.ok()) [[unlikely]] {
        return s;
      }
      // A set's encoding never repeats an element; bytes that do were not
      // written by one.
      if (!set.insert(std::move(v)).second) [[unlikely]] {
        return DuplicateElement(static_cast<size_t>(i));
      }
    }
    return Status();
  }
};

}  // namespace record_internal

template <Encodable K, Encodable V, class Cmp, class Alloc>
struct Codec<std::map<K, V, Cmp, Alloc>>
    : record_internal::MapCodec<std::map<K, V, Cmp, Alloc>, K, V> {};

template <Encodable K, Encodable V, class H, class Eq, class Alloc>
struct Codec<std::unordered_map<K, V, H, Eq, Alloc>>
    : record_internal::MapCodec<std::unordered_map<K, V, H, Eq, Alloc>, K, V> {};

template <Encodable T, class Cmp, class Alloc>
struct Codec<std::set<T, Cmp, Alloc>> : record_internal::SetCodec<std::set<T, Cmp, Alloc>, T> {};

template <Encodable T, class H, class Eq, class Alloc>
struct Codec<std::unordered_set<T, H, Eq, Alloc>>
    : record_internal::SetCodec<std::unordered_set<T, H, Eq, Alloc>, T> {};

// Structs with EMBER_FIELDS: the fields in declaration-list order.
template <class T>
requires HasEmberFields<T> && record_internal::AllEncodableImpl<
    decltype(std::declval<const T&>().ember_fields())>::value struct Codec<T> {
  static void Encode(RecordWriter& w, const T& v) {
    const auto fields = v.ember_fields();
    using Fields = decltype(fields);
    record_internal::EncodeElements(
        w, fields, std::make_index_sequence<std::tuple_size_v<std::remove_cv_t<Fields>>>{});
  }
  static Status Decode(RecordReader& r, T& v) {
    auto fields = v.ember_fields();
    return record_internal::DecodeElements(
        r, fields, std::make_index_sequence<std::tuple_size_v<decltype(fields)>>{});
  }
};

}  // namespace ember
