// Record encoding: round trips for every supported type, the exact wire
// bytes of the basic encodings, and rejection of malformed input with the
// right DATA_LOSS message (never a crash or a large allocation).
#include <ember/hash.h>
#include <ember/record.h>

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ember {
namespace {

struct Point {
  int64_t x = 0;
  std::string label;
  std::optional<double> weight;
  EMBER_FIELDS(x, label, weight)
  friend bool operator==(const Point&, const Point&) = default;
};

struct Nested {
  Point p;
  std::vector<Point> others;
  bool flag = false;
  EMBER_FIELDS(p, others, flag)
  friend bool operator==(const Nested&, const Nested&) = default;
};

struct NotOptedIn {
  int a = 0;
};

struct BadField {
  int* p = nullptr;
  EMBER_FIELDS(p)
};

enum class Color : uint8_t { kRed = 1, kGreen = 200 };

// A user type with its own Codec: stored as two raw bytes.
struct Rgb16 {
  uint16_t v = 0;
  friend bool operator==(const Rgb16&, const Rgb16&) = default;
};

}  // namespace

template <>
struct Codec<Rgb16> {
  static void Encode(RecordWriter& w, const Rgb16& c) { w.PutRaw(&c.v, sizeof(c.v)); }
  static Status Decode(RecordReader& r, Rgb16& c) { return r.GetRaw(&c.v, sizeof(c.v)); }
};

namespace {

// Encodable must be false (not a hard error) for unsupported types, so the
// engine can static_assert with its own message.
static_assert(Encodable<int>);
static_assert(Encodable<bool>);
static_assert(Encodable<std::string>);
static_assert(
    Encodable<std::vector<std::pair<std::string, std::optional<std::tuple<int, double>>>>>);
static_assert(Encodable<Point>);
static_assert(Encodable<Nested>);
static_assert(Encodable<Color>);
static_assert(Encodable<Rgb16>);
static_assert(Encodable<std::map<std::string, int64_t>>);
static_assert(Encodable<std::unordered_map<int, std::vector<std::string>>>);
static_assert(Encodable<std::set<std::string>>);
static_assert(Encodable<std::unordered_set<int64_t>>);
static_assert(OwnsBytes<std::set<std::string>>);
static_assert(!OwnsBytes<std::set<std::string_view>>);
static_assert(!OwnsBytes<std::unordered_set<const char*>>);
static_assert(!Encodable<int*>);
static_assert(!Encodable<NotOptedIn>);
static_assert(!Encodable<BadField>);
static_assert(!Encodable<std::vector<int*>>);
static_assert(!Encodable<std::pair<int, NotOptedIn>>);
static_assert(!Encodable<std::list<int>>);
static_assert(!Encodable<long double>);

template <class T>
void ExpectRoundTrip(const T& v) {
  const std::string bytes = EncodeToString(v);
  Result<T> back = DecodeFromString<T>(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == v);
}

template <class T>
void RoundTripAll(const std::vector<T>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "value #" << i);
    ExpectRoundTrip(static_cast<T>(values[i]));
  }
}

template <class T>
std::vector<T> IntegerExtremes() {
  using L = std::numeric_limits<T>;
  std::vector<T> v = {0,
                      1,
                      L::max(),
                      static_cast<T>(L::max() - 1),
                      L::min(),
                      static_cast<T>(L::min() + 1),
                      static_cast<T>(127),
                      static_cast<T>(63)};
  if constexpr (std::is_signed_v<T>) {
    v.push_back(-1);
    v.push_back(-64);
    v.push_back(-65);
  }
  return v;
}

TEST(RecordTest, IntegerRoundTripsIncludingExtremes) {
  RoundTripAll(IntegerExtremes<int8_t>());
  RoundTripAll(IntegerExtremes<uint8_t>());
  RoundTripAll(IntegerExtremes<int16_t>());
  RoundTripAll(IntegerExtremes<uint16_t>());
  RoundTripAll(IntegerExtremes<int32_t>());
  RoundTripAll(IntegerExtremes<uint32_t>());
  RoundTripAll(IntegerExtremes<int64_t>());
  RoundTripAll(IntegerExtremes<uint64_t>());
  RoundTripAll(IntegerExtremes<char>());
  RoundTripAll(IntegerExtremes<long long>());
  RoundTripAll(IntegerExtremes<unsigned long>());
}

TEST(RecordTest, ScalarRoundTrips) {
  RoundTripAll<bool>({true, false});
  RoundTripAll<double>({0.0, -0.0, 1.5, -1e308, std::numeric_limits<double>::min(),
                        std::numeric_limits<double>::denorm_min(),
                        std::numeric_limits<double>::infinity()});
  RoundTripAll<float>({0.0f, 3.25f, -std::numeric_limits<float>::max()});
  RoundTripAll<Color>({Color::kRed, Color::kGreen});
  RoundTripAll<Rgb16>({Rgb16{0}, Rgb16{0xbeef}});
  RoundTripAll<std::string>({"", "a", std::string(1, '\0'), std::string(300, 'x'),
                             "with\nnewline\tand tab", "\xff\xfe binary"});
}

TEST(RecordTest, NaNRoundTripsBitExactly) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Result<double> back = DecodeFromString<double>(EncodeToString(nan));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::bit_cast<uint64_t>(*back), std::bit_cast<uint64_t>(nan));
}

TEST(RecordTest, CompositeRoundTrips) {
  RoundTripAll<std::pair<std::string, int64_t>>({{"", 0}, {"word", 42}, {"x", INT64_MIN}});
  RoundTripAll<std::tuple<int, std::string, bool, double>>(
      {{0, "", false, 0.0}, {-7, "seven", true, 7.5}});
  RoundTripAll<std::tuple<>>({{}});
  RoundTripAll<std::vector<int32_t>>({{}, {1}, {INT32_MIN, 0, INT32_MAX}});
  RoundTripAll<std::vector<bool>>({{}, {true, false, true}});
  RoundTripAll<std::vector<std::string>>({{}, {""}, {"a", "", "ccc"}});
  RoundTripAll<std::optional<std::string>>({std::nullopt, std::string(), std::string("v")});
  RoundTripAll<std::optional<std::optional<int>>>(
      {std::nullopt, std::optional<int>(), std::optional<int>(5)});
  RoundTripAll<std::map<std::string, int64_t>>({{}, {{"a", 1}, {"b", -2}}});
  RoundTripAll<std::unordered_map<int, std::vector<std::string>>>({{}, {{1, {"x"}}, {2, {}}}});
  RoundTripAll<std::set<std::string>>({{}, {""}, {"the", "a", "of"}});
  RoundTripAll<std::unordered_set<int64_t>>({{}, {-1, 0, 1LL << 40}});
  RoundTripAll<std::vector<std::tuple<>>>({{}, {{}, {}, {}}});
}

TEST(RecordTest, ArraysRoundTripAndByteArraysAreTheirBytes) {
  const std::array<uint8_t, 4> bytes = {0, 0x7f, 0x80, 0xff};
  ExpectRoundTrip(bytes);
  ExpectRoundTrip(std::array<int64_t, 3>{-1, 0, int64_t{1} << 40});
  ExpectRoundTrip(std::array<std::string, 2>{"a", std::string(300, 'b')});
  ExpectRoundTrip(std::pair<std::array<uint8_t, 10>, std::array<uint8_t, 90>>());
  // No length prefix: the bytes themselves.
  EXPECT_EQ(EncodeToString(bytes), std::string("\x00\x7f\x80\xff", 4));
  // Too few bytes left is DATA_LOSS, not a read past the end.
  auto truncated = DecodeFromString<std::array<uint8_t, 8>>(std::string("\x01\x02\x03", 3));
  EXPECT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), StatusCode::kDataLoss);
  // Equal arrays hash alike; a byte array hashes as its bytes.
  EXPECT_EQ(StableHash(bytes), StableHash(std::array<uint8_t, 4>{0, 0x7f, 0x80, 0xff}));
  EXPECT_NE(StableHash(bytes), StableHash(std::array<uint8_t, 4>{0, 0x7f, 0x80, 0xfe}));
  EXPECT_EQ(StableHash(bytes), StableHash(std::string("\x00\x7f\x80\xff", 4)));
}

TEST(RecordTest, DeeplyNestedRoundTrip) {
  using Deep = std::vector<std::pair<std::string, std::optional<std::tuple<int, double>>>>;
  RoundTripAll<Deep>({
      {},
      {{"", std::nullopt}},
      {{"a", std::make_tuple(1, 2.5)},
       {"", std::nullopt},
       {"ccc", std::make_tuple(INT32_MIN, -0.0)}},
  });
}

TEST(RecordTest, EmberFieldsStructsRoundTrip) {
  RoundTripAll<Point>(
      {Point{}, Point{-5, "five", 5.5}, Point{INT64_MAX, std::string(200, 'z'), {}}});
  Nested n;
  n.p = Point{1, "one", {}};
  n.others = {Point{2, "two", 2.0}, Point{}};
  n.flag = true;
  RoundTripAll<Nested>({Nested{}, n});
}

TEST(RecordTest, EmberFieldsStructEncodesLikeItsFieldTuple) {
  const Point p{3, "abc", 1.0};
  EXPECT_EQ(EncodeToString(p), EncodeToString(std::make_tuple(int64_t{3}, std::string("abc"),
                                                              std::optional<double>(1.0))));
}

// The wire format is a contract across processes and versions.
TEST(RecordTest, GoldenEncodings) {
  struct Case {
    std::string name;
    std::string bytes;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"uint 0", EncodeToString(uint32_t{0}), std::string("\x00", 1)},
      {"uint 127", EncodeToString(uint32_t{127}), "\x7f"},
      {"uint 128", EncodeToString(uint32_t{128}), "\x80\x01"},
      {"uint 300", EncodeToString(uint64_t{300}), "\xac\x02"},
      {"uint64 max", EncodeToString(UINT64_MAX), "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"},
      {"int 0", EncodeToString(int32_t{0}), std::string("\x00", 1)},
      {"int -1", EncodeToString(int32_t{-1}), "\x01"},
      {"int 1", EncodeToString(int32_t{1}), "\x02"},
      {"int -64", EncodeToString(int64_t{-64}), "\x7f"},
      {"int 64", EncodeToString(int64_t{64}), "\x80\x01"},
      {"int64 min", EncodeToString(INT64_MIN), "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"},
      {"bool true", EncodeToString(true), "\x01"},
      {"double 1.0", EncodeToString(1.0), std::string("\x00\x00\x00\x00\x00\x00\xf0\x3f", 8)},
      {"float 1.0", EncodeToString(1.0f), std::string("\x00\x00\x80\x3f", 4)},
      {"string", EncodeToString(std::string("hi")), "\x02hi"},
      {"empty string", EncodeToString(std::string()), std::string("\x00", 1)},
      {"pair", EncodeToString(std::make_pair(std::string("a"), int64_t{2})),
       "\x01"
       "a\x04"},
      {"vector", EncodeToString(std::vector<uint8_t>{1, 2}), "\x02\x01\x02"},
      {"nullopt", EncodeToString(std::optional<int>()), std::string("\x00", 1)},
      {"optional", EncodeToString(std::optional<int>(3)), "\x01\x06"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.bytes, c.expected) << c.name;
  }
}

TEST(RecordTest, StringViewDecodePointsIntoInput) {
  const std::string bytes = EncodeToString(std::make_pair(std::string_view("key"), int64_t{9}));
  RecordReader r(bytes);
  std::pair<std::string_view, int64_t> kv;
  ASSERT_TRUE(Decode(r, kv).ok());
  EXPECT_EQ(kv.first, "key");
  EXPECT_EQ(kv.first.data(), bytes.data() + 1);
  EXPECT_EQ(kv.second, 9);
}

TEST(RecordTest, ManyRecordsInOneBuffer) {
  std::string buf;
  RecordWriter w(buf);
  constexpr int kRecords = 1000;
  for (int i = 0; i < kRecords; ++i) Encode(w, std::make_pair(std::to_string(i), int64_t{i} * -3));
  RecordReader r(buf);
  std::pair<std::string, int64_t> rec;
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(Decode(r, rec).ok());
    EXPECT_EQ(rec.first, std::to_string(i));
    EXPECT_EQ(rec.second, int64_t{i} * -3);
  }
  EXPECT_TRUE(r.AtEnd());
}

// ---- Malformed input -------------------------------------------------------

template <class T>
void ExpectTruncatedAtEveryPrefix(const T& v) {
  const std::string bytes = EncodeToString(v);
  for (size_t len = 0; len < bytes.size(); ++len) {
    Result<T> r = DecodeFromString<T>(std::string_view(bytes).substr(0, len));
    ASSERT_FALSE(r.ok()) << "prefix of " << len << "/" << bytes.size() << " bytes decoded";
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
    EXPECT_TRUE(r.status().message().starts_with("record truncated"))
        << "prefix " << len << ": " << r.status().ToString();
  }
}

TEST(RecordTest, TruncationAtEveryBytePositionIsRejected) {
  ExpectTruncatedAtEveryPrefix(UINT64_MAX);
  ExpectTruncatedAtEveryPrefix(INT64_MIN);
  ExpectTruncatedAtEveryPrefix(1.5);
  ExpectTruncatedAtEveryPrefix(2.5f);
  ExpectTruncatedAtEveryPrefix(std::string("hello world"));
  ExpectTruncatedAtEveryPrefix(std::make_pair(std::string("word"), int64_t{123456789}));
  ExpectTruncatedAtEveryPrefix(std::make_tuple(true, std::optional<int>(7), std::string("x"), 1.0));
  ExpectTruncatedAtEveryPrefix(
      std::vector<std::pair<std::string, std::optional<std::tuple<int, double>>>>{
          {"ab", std::make_tuple(300, 0.5)}, {"", std::nullopt}, {"c", std::make_tuple(-1, 2.0)}});
  ExpectTruncatedAtEveryPrefix(Nested{Point{1, "p", 1.0}, {Point{2, "q", {}}}, true});
  ExpectTruncatedAtEveryPrefix(std::map<std::string, int>{{"a", 1}, {"bb", 2}});
  ExpectTruncatedAtEveryPrefix(std::set<std::string>{"a", "bb", "ccc"});
}

TEST(RecordTest, MalformedInputsGiveSpecificErrors) {
  struct Case {
    std::string name;
    std::function<Status(std::string_view)> decode;
    std::string bytes;
    std::string message_part;
  };
  auto as = [](auto tag) {
    using T = decltype(tag);
    return [](std::string_view b) { return DecodeFromString<T>(b).status(); };
  };
  const std::string eleven_continuations(11, '\x80');
  const std::vector<Case> cases = {
      {"11-byte varint", as(uint64_t{}), eleven_continuations, "longer than 10 bytes"},
      {"10th byte continues", as(uint64_t{}), std::string(9, '\xff') + "\x81\x00",
       "longer than 10 bytes"},
      {"varint over 64 bits", as(uint64_t{}), std::string(9, '\xff') + "\x02", "overflows 64 bits"},
      {"overlong zigzag", as(int64_t{}), std::string(10, '\x80') + '\x01', "longer than 10 bytes"},
      {"uint8 out of range", as(uint8_t{}), "\x80\x02", "value 256 out of range for uint8"},
      {"uint32 out of range", as(uint32_t{}), "\x80\x80\x80\x80\x10",
       "value 4294967296 out of range for uint32"},
      {"int8 above range", as(int8_t{}), "\x80\x02", "value 128 out of range for int8"},
      {"int8 below range", as(int8_t{}), "\x81\x02", "value -129 out of range for int8"},
      {"int32 out of range", as(int32_t{}), "\x80\x80\x80\x80\x10",
       "value 2147483648 out of range for int32"},
      {"bool 2", as(bool{}), "\x02", "bool tag byte is 2"},
      {"bool 255", as(bool{}), "\xff", "bool tag byte is 255"},
      {"optional tag 2", as(std::optional<int>{}), "\x02\x00", "optional tag byte is 2"},
      {"optional tag 0x80", as(std::optional<int>{}), "\x80", "optional tag byte is 128"},
      {"string past end", as(std::string{}),
       "\x64"
       "abc",
       "record truncated: string length 100 exceeds 3 remaining bytes"},
      {"huge string length", as(std::string{}), "\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
       "string length 9223372036854775807 exceeds 0 remaining bytes"},
      {"huge vector count", as(std::vector<int64_t>{}), "\xff\xff\xff\xff\xff\xff\xff\xff\x0f",
       "vector count 1152921504606846975 exceeds what 0 remaining bytes can hold"},
      {"vector count vs remaining", as(std::vector<double>{}),
       std::string("\x03", 1) + std::string(16, '\0'),
       "vector count 3 exceeds what 16 remaining bytes can hold"},
      {"huge map count", as(std::map<int, int>{}), "\xff\xff\xff\x7f", "map count 268435455"},
      {"zero-size elements", as(std::vector<std::tuple<>>{}), "\xff\xff\xff\xff\x0f",
       "vector count 4294967295"},
      {"duplicate map key", as(std::map<int, int>{}), "\x02\x02\x02\x02\x04",
       "duplicate map key at entry 1"},
      {"duplicate set element", as(std::set<int>{}), "\x03\x02\x04\x02",
       "duplicate set element at entry 2"},
      {"duplicate unordered_set element", as(std::unordered_set<std::string>{}), "\x02\x01x\x01x",
       "duplicate set element at entry 1"},
      {"huge set count", as(std::set<int>{}), "\xff\xff\xff\x7f", "set count 268435455"},
      {"trailing bytes", as(int32_t{}), std::string("\x02\x00", 2), "1 trailing bytes"},
      {"empty input", as(int32_t{}), "", "record truncated: varint runs past the end"},
  };
  for (const Case& c : cases) {
    const Status s = c.decode(c.bytes);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << c.name << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.message_part), std::string::npos)
        << c.name << ": got \"" << s.message() << "\", want it to contain \"" << c.message_part
        << "\"";
  }
}

TEST(RecordTest, TenByteVarintsAtTheLimitAreAccepted) {
  Result<uint64_t> top = DecodeFromString<uint64_t>(std::string(9, '\x80') + "\x01");
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  EXPECT_EQ(*top, uint64_t{1} << 63);
}

TEST(RecordTest, FailedVarintConsumesNothing) {
  const std::string bytes = "\x80\x80";
  RecordReader r(bytes);
  uint64_t v = 0;
  EXPECT_FALSE(r.GetVarint(&v).ok());
  EXPECT_EQ(r.remaining(), 2u);
}

TEST(RecordTest, ReaderPrimitivesRejectShortInput) {
  const std::string bytes = "abc";
  RecordReader r(bytes);
  char buf[4];
  EXPECT_EQ(r.GetRaw(buf, 4).code(), StatusCode::kDataLoss);
  std::string_view view;
  EXPECT_EQ(r.GetView(4, &view).code(), StatusCode::kDataLoss);
  ASSERT_TRUE(r.GetView(3, &view).ok());
  EXPECT_EQ(view, "abc");
  EXPECT_TRUE(r.AtEnd());
}

// Random and mutated inputs must only ever produce values or DATA_LOSS. Run
// under the sanitizer build to also catch undefined behavior.
TEST(RecordTest, FuzzedInputNeverCrashes) {
  using Complex =
      std::tuple<std::vector<std::pair<std::string, std::optional<std::tuple<int, double>>>>,
                 Nested, std::map<std::string, std::vector<int8_t>>, bool, uint16_t>;
  Nested n{Point{1, "p", 1.0}, {Point{2, "q", {}}, Point{-3, "rr", 0.25}}, true};
  const Complex seed{{{"ab", std::make_tuple(300, 0.5)}, {"", std::nullopt}},
                     n,
                     {{"k", {1, -2, 3}}, {"", {}}},
                     true,
                     uint16_t{65535}};
  const std::string valid = EncodeToString(seed);
  std::mt19937_64 rng(12345);
  constexpr int kIterations = 20000;
  constexpr size_t kMaxRandomBytes = 64;
  int decoded_ok = 0;
  for (int i = 0; i < kIterations; ++i) {
    std::string input;
    if (i % 2 == 0) {
      input.resize(rng() % kMaxRandomBytes);
      for (char& c : input) c = static_cast<char>(rng());
    } else {
      input = valid;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) input[rng() % input.size()] = static_cast<char>(rng());
    }
    Result<Complex> r = DecodeFromString<Complex>(input);
    if (r.ok()) {
      ++decoded_ok;
      // Whatever decodes must re-encode to something that decodes again.
      EXPECT_TRUE(DecodeFromString<Complex>(EncodeToString(*r)).ok());
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    }
  }
  RecordProperty("decoded_ok", decoded_ok);
}

}  // namespace
}  // namespace ember
