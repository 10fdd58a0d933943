// reduceByKey's combining table (ember/operators.h): CombineTable and
// BatchedCombiner must give exactly what a std::map fold gives, through
// growth, with keys whose low hash bits are all alike (a reduce partition's
// keys), and with batches cut at every position.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "ember/operators.h"

namespace ember::internal {
namespace {

struct Sum {
  int64_t operator()(int64_t a, int64_t b) const { return a + b; }
};

std::map<std::string, int64_t> Drained(CombineTable<std::string, int64_t>& table) {
  std::map<std::string, int64_t> out;
  table.Drain([&](std::pair<std::string, int64_t>& kv) {
    EXPECT_TRUE(out.emplace(std::move(kv.first), kv.second).second) << "key drained twice";
  });
  return out;
}

constexpr std::string_view kLongSuffix = "-a-key-longer-than-sso";

// Words with a skewed distribution: word i % kDistinct, weighted to the front.
std::vector<std::string> Words(int count, int distinct) {
  std::vector<std::string> words;
  uint64_t x = 12345;
  for (int i = 0; i < count; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const auto r = static_cast<int>((x >> 33) % static_cast<uint64_t>(distinct));
    const int rank = r % 3 == 0 ? r / 97 : r;  // a third of draws hit few keys
    // Some keys longer than the small-string buffer, so both kinds compare.
    std::string word = std::to_string(rank);
    if (rank % 5 == 0) word.append(kLongSuffix);
    words.push_back(std::move(word));
  }
  return words;
}

TEST(CombineTableTest, MatchesAnOrderedFoldThroughGrowth) {
  const std::vector<std::string> words = Words(200000, 50000);
  std::map<std::string, int64_t> expected;
  for (const auto& w : words) expected[w] += 1;

  CombineTable<std::string, int64_t> table;
  Sum sum;
  for (const auto& w : words) {
    std::pair<std::string, int64_t> kv(w, 1);
    table.Combine(kv, sum);
  }
  EXPECT_EQ(table.size(), expected.size());
  EXPECT_EQ(Drained(table), expected);
  EXPECT_EQ(table.size(), 0u);
}

TEST(CombineTableTest, KeepsTheFirstKeyAndDrainsInInsertionOrder) {
  CombineTable<std::string, int64_t> table;
  Sum sum;
  for (const char* w : {"b", "a", "b", "c", "a", "b"}) {
    std::pair<std::string, int64_t> kv(w, 1);
    table.Combine(kv, sum);
  }
  std::vector<std::pair<std::string, int64_t>> order;
  table.Drain([&](std::pair<std::string, int64_t>& kv) { order.push_back(kv); });
  EXPECT_EQ(order, (std::vector<std::pair<std::string, int64_t>>{{"b", 3}, {"a", 2}, {"c", 1}}));
}

// A reduce task sees only keys with StableHash % reducers == its partition;
// the table must not degrade (or break) when the low bits never vary.
TEST(CombineTableTest, KeysOfOneReducePartition) {
  constexpr uint32_t kReducers = 64;
  CombineTable<int64_t, int64_t> table;
  Sum sum;
  std::map<int64_t, int64_t> expected;
  for (int64_t k = 0; expected.size() < 20000; ++k) {
    if (ReducerOf(k, kReducers) != 7) continue;
    for (int rep = 0; rep < 2; ++rep) {
      std::pair<int64_t, int64_t> kv(k, k);
      table.Combine(kv, sum);
    }
    expected[k] = 2 * k;
  }
  std::map<int64_t, int64_t> got;
  table.Drain([&](std::pair<int64_t, int64_t>& kv) { got.emplace(kv.first, kv.second); });
  EXPECT_EQ(got, expected);
}

TEST(BatchedCombinerTest, SameResultForAnyNumberOfRecords) {
  for (int count : {0, 1, 15, 16, 17, 33, 1000}) {
    const std::vector<std::string> words = Words(count, 300);
    std::map<std::string, int64_t> expected;
    for (const auto& w : words) expected[w] += 2;
    Sum sum;
    ReduceAggregator<Sum> agg{sum};
    BatchedCombiner<std::string, int64_t, int64_t, ReduceAggregator<Sum>> combiner(agg);
    for (const auto& w : words) {
      std::pair<std::string, int64_t> kv(w, 2);
      combiner.Add(kv);
    }
    combiner.Flush();
    EXPECT_EQ(Drained(combiner.table()), expected) << count << " records";
  }
}

// A combiner of another type than the values (combineByKey's case): the
// first value of a key creates it, the others merge into it.
TEST(CombineTableTest, AggregatorBuildsCombinersOfAnotherType) {
  struct Collect {
    std::vector<int64_t> Create(int64_t&& v) { return {v}; }
    std::vector<int64_t> Merge(std::vector<int64_t>&& c, int64_t&& v) {
      c.push_back(v);
      return std::move(c);
    }
  } collect;
  const std::vector<std::string> words = Words(2000, 150);
  std::map<std::string, std::vector<int64_t>> expected;
  CombineTable<std::string, std::vector<int64_t>> table;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string key = words[i];
    int64_t value = static_cast<int64_t>(i);
    expected[words[i]].push_back(value);
    table.CombineWith(key, value, CombineTable<std::string, std::vector<int64_t>>::Hash(key),
                      collect);
  }
  std::map<std::string, std::vector<int64_t>> got;
  table.Drain([&](std::pair<std::string, std::vector<int64_t>>& kv) {
    EXPECT_TRUE(got.emplace(kv.first, std::move(kv.second)).second) << kv.first << " twice";
  });
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace ember::internal
