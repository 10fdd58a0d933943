// StableHash: pinned values (cross-process and cross-version stability),
// spread of sequential keys over partitions, agreement between equivalent
// key forms, and heterogeneous lookup.
#include <ember/hash.h>

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ember {
namespace {

struct WordKey {
  std::string word;
  int32_t bucket = 0;
  EMBER_FIELDS(word, bucket)
};

struct Opaque {
  int a = 0;
};

static_assert(StableHashable<int>);
static_assert(StableHashable<std::string>);
static_assert(StableHashable<std::pair<std::string, int64_t>>);
static_assert(StableHashable<std::vector<std::optional<std::tuple<int, double>>>>);
static_assert(StableHashable<WordKey>);
static_assert(!StableHashable<Opaque>);
static_assert(!StableHashable<int*>);

// These values are part of the shuffle contract: map tasks of one job may
// run different builds during a rolling upgrade and must still agree on
// partitions. Never update them casually.
TEST(StableHashTest, GoldenValues) {
  struct Case {
    std::string name;
    uint64_t actual;
    uint64_t expected;
  };
  const std::vector<Case> cases = {
      {"int 0", StableHash(0), 0x182f48eef0ee85b3ull},
      {"int 1", StableHash(1), 0x9aab2483f0f93e2eull},
      {"int -1", StableHash(-1), 0x7805d13c1bc7b1caull},
      {"uint64 max", StableHash(UINT64_MAX), 0x7805d13c1bc7b1caull},
      {"int64 min", StableHash(INT64_MIN), 0xff727b1393b9519full},
      {"double 1.5", StableHash(1.5), 0x12be34a00ff9dcaull},
      {"bool true", StableHash(true), 0x9aab2483f0f93e2eull},
      {"empty string", StableHash(std::string()), 0x9ac2c3a040ba9638ull},
      {"a", StableHash(std::string("a")), 0xeed36ea9e5668ce6ull},
      {"abc", StableHash(std::string("abc")), 0x74b283facf90312ull},
      {"hello", StableHash(std::string("hello")), 0x2e8cad7171ff75adull},
      {"16 bytes", StableHash(std::string("0123456789abcdef")), 0x9ee124d877d09278ull},
      {"17 bytes", StableHash(std::string("0123456789abcdefg")), 0xce207cbce5b5cafaull},
      {"100 bytes", StableHash(std::string(100, 'q')), 0xd1b55357486a3970ull},
      {"pair", StableHash(std::make_pair(std::string("word"), int64_t{7})), 0xead2c38fbc13445full},
      {"vector", StableHash(std::vector<int>{1, 2, 3}), 0xe4c68a851df3159eull},
      {"nullopt", StableHash(std::optional<int>()), 0x6a09e667f3bcc908ull},
      {"optional 0", StableHash(std::optional<int>(0)), 0x5b7d1022216cb765ull},
      {"struct", StableHash(WordKey{"w", 3}), 0x5be0db2559684e26ull},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.actual, c.expected) << c.name << ": 0x" << std::hex << c.actual << "ull";
  }
}

TEST(StableHashTest, EquivalentKeyFormsAgree) {
  const std::string s = "partition-key";
  EXPECT_EQ(StableHash(s), StableHash(std::string_view(s)));
  EXPECT_EQ(StableHash(s), StableHash(s.c_str()));
  EXPECT_EQ(StableHash(int32_t{-5}), StableHash(int64_t{-5}));
  EXPECT_EQ(StableHash(uint8_t{200}), StableHash(uint64_t{200}));
  EXPECT_EQ(StableHash(0.0), StableHash(-0.0));
  EXPECT_EQ(StableHash(std::make_pair(1, s)), StableHash(std::make_tuple(1, s)));
  EXPECT_EQ(StableHash(WordKey{"w", 3}), StableHash(std::make_tuple(std::string("w"), int32_t{3})));
}

TEST(StableHashTest, DistinguishesNearbyValues) {
  EXPECT_NE(StableHash(std::optional<int>()), StableHash(std::optional<int>(0)));
  EXPECT_NE(StableHash(std::vector<int>{}), StableHash(std::vector<int>{0}));
  EXPECT_NE(StableHash(std::make_pair(1, 2)), StableHash(std::make_pair(2, 1)));
  EXPECT_NE(StableHash(std::vector<std::string>{"ab", "c"}),
            StableHash(std::vector<std::string>{"a", "bc"}));
  // Every length of a run of zero bytes hashes differently (length is mixed).
  std::unordered_set<uint64_t> seen;
  constexpr size_t kMaxLen = 200;
  for (size_t len = 0; len <= kMaxLen; ++len) seen.insert(StableHash(std::string(len, '\0')));
  EXPECT_EQ(seen.size(), kMaxLen + 1);
}

template <class Key>
void ExpectBalanced(const std::vector<Key>& keys) {
  constexpr size_t kBuckets = 16;
  constexpr double kTolerance = 0.10;
  std::vector<size_t> counts(kBuckets, 0);
  for (const Key& k : keys) ++counts[StableHash(k) % kBuckets];
  const double expected = static_cast<double>(keys.size()) / kBuckets;
  for (size_t b = 0; b < kBuckets; ++b) {
    EXPECT_NEAR(static_cast<double>(counts[b]), expected, expected * kTolerance) << "bucket " << b;
  }
}

TEST(StableHashTest, SequentialKeysSpreadEvenlyOverPartitions) {
  constexpr int kKeys = 100000;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < kKeys; ++i) {
    ints.push_back(i);
    strings.push_back("key" + std::to_string(i));
    pairs.emplace_back(i / 16, i % 16);
  }
  ExpectBalanced(ints);
  ExpectBalanced(strings);
  ExpectBalanced(pairs);
}

// Flipping any one input bit flips about half the output bits.
TEST(StableHashTest, Avalanche) {
  constexpr int kSamples = 2000;
  constexpr double kMinMeanFlips = 28.0;
  constexpr double kMaxMeanFlips = 36.0;
  auto check = [&](auto hash_with_bit_flipped, int bits, const char* what) {
    double total = 0;
    int n = 0;
    for (int s = 0; s < kSamples; ++s) {
      for (int bit = 0; bit < bits; bit += 7) {
        total += std::popcount(hash_with_bit_flipped(s, -1) ^ hash_with_bit_flipped(s, bit));
        ++n;
      }
    }
    const double mean = total / n;
    EXPECT_GT(mean, kMinMeanFlips) << what;
    EXPECT_LT(mean, kMaxMeanFlips) << what;
  };
  check(
      [](int s, int bit) {
        uint64_t v = static_cast<uint64_t>(s) * 0x9e3779b97f4a7c15ull;
        if (bit >= 0) v ^= uint64_t{1} << bit;
        return StableHash(v);
      },
      64, "uint64");
  for (size_t len : {3u, 8u, 13u, 16u, 40u, 100u}) {
    check(
        [len](int s, int bit) {
          std::string v(len, static_cast<char>('a' + s % 26));
          v[static_cast<size_t>(s) % len] = static_cast<char>(s);
          if (bit >= 0) v[static_cast<size_t>(bit / 8) % len] ^= static_cast<char>(1 << (bit % 8));
          return StableHash(v);
        },
        static_cast<int>(len * 8), "string");
  }
}

TEST(StableHashTest, HeterogeneousLookupWithStringView) {
  std::unordered_map<std::string, int, StableHasher<std::string>, std::equal_to<>> counts;
  counts["apple"] = 1;
  counts["pear"] = 2;
  const std::string_view probe = "apple pie";
  auto it = counts.find(probe.substr(0, 5));
  ASSERT_NE(it, counts.end());
  EXPECT_EQ(it->second, 1);
  EXPECT_EQ(counts.find(std::string_view("plum")), counts.end());
  EXPECT_EQ(counts.count(std::string_view("pear")), 1u);

  StableHasher<std::string> h;
  EXPECT_EQ(h(std::string("x")), h(std::string_view("x")));
  EXPECT_EQ(h("x"), h(std::string_view("x")));
}

TEST(StableHashTest, HasherWorksForCompositeKeys) {
  std::unordered_map<std::pair<std::string, int>, int, StableHasher<std::pair<std::string, int>>> m;
  m[{"a", 1}] = 10;
  m[{"a", 2}] = 20;
  EXPECT_EQ((m[{"a", 1}]), 10);
  EXPECT_EQ(m.size(), 2u);
}

}  // namespace
}  // namespace ember
