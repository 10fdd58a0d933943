// Staying within the memory budget (ember/core): the spill file's framing
// and checks, the executor's MemoryBudget, and the three structures that
// spill (ReducerBlocks, ExternalSorter, ExternalCombiner), each driven past
// a small budget and compared with what an in-memory computation gives.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "ember/core/external_combiner.h"
#include "ember/core/external_sorter.h"
#include "ember/core/reducer_blocks.h"
#include "ember/core/spill_file.h"
#include "runtime/executor/block_store.h"
#include "runtime/executor/memory_budget.h"

namespace ember::internal {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ember-spill-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A task context with a real MemoryBudget and spill directory; shuffle
// blocks written through it are kept for the test to read.
class BudgetedContext final : public TaskContext {
 public:
  explicit BudgetedContext(uint64_t budget) : budget_(budget, nullptr) {}
  void RunNode(uint32_t, uint32_t, ErasedConsumer&) override { ADD_FAILURE() << "no nodes"; }
  std::string_view Payload(const NodeView&, uint32_t) override { return {}; }
  void ReadShuffle(uint32_t, uint32_t, const std::function<void(std::string_view)>&) override {}
  void WriteShuffleBlock(uint32_t reduce_id, std::string_view block) override {
    EXPECT_TRUE(written.empty() || written.back().first <= reduce_id) << "reducers out of order";
    written.emplace_back(reduce_id, std::string(block));
  }
  bool TryReserveMemory(uint64_t bytes) override { return budget_.TryReserve(bytes); }
  void ReleaseMemory(uint64_t bytes) override { budget_.Release(bytes); }
  std::string SpillDir() override { return dir_.path() + "/spill"; }
  uint32_t partition() const override { return 0; }
  uint32_t attempt() const override { return 0; }
  void CheckCancelled() override {}
  void AskCommit() override {}

  const MemoryBudget& budget() const { return budget_; }
  // Files left in the spill directory (spill files are unlinked at once).
  size_t files_left() const {
    if (!fs::exists(dir_.path() + "/spill")) return 0;
    return static_cast<size_t>(
        std::distance(fs::directory_iterator(dir_.path() + "/spill"), fs::directory_iterator()));
  }

  std::vector<std::pair<uint32_t, std::string>> written;

 private:
  TempDir dir_;
  MemoryBudget budget_;
};

constexpr uint64_t kBudget = 2 << 20;

std::string Value(std::mt19937_64& rng, size_t size) {
  std::string s(size, ' ');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

TEST(SpillFileTest, BlocksComeBackAsWritten) {
  TempDir dir;
  SpillFile file(dir.path());
  std::vector<std::string> blocks = {"", "one", std::string(3 << 20, 'x'), "last"};
  for (const auto& b : blocks) file.Append(b);
  file.FinishWriting();
  std::string block;
  for (const auto& want : blocks) {
    ASSERT_TRUE(file.Next(block));
    EXPECT_EQ(block, want);
  }
  EXPECT_FALSE(file.Next(block));
  // Already unlinked: nothing named is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 0);
}

TEST(SpillFileTest, ADirectoryThatCannotBeMadeIsATaskError) {
  TempDir dir;
  const std::string file = dir.path() + "/plain";
  ::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0600));
  try {
    SpillFile spill(file + "/sub");
    FAIL() << "a spill file under a regular file";
  } catch (const TaskError& e) {
    EXPECT_NE(e.status().message().find("spill directory " + file + "/sub"), std::string::npos)
        << e.status().message();
  }
}

TEST(MemoryBudgetTest, RefusesWhatWouldPassTheLimitAndCountsReleases) {
  MemoryBudget budget(100, nullptr);
  EXPECT_TRUE(budget.TryReserve(60));
  EXPECT_FALSE(budget.TryReserve(41));
  EXPECT_TRUE(budget.TryReserve(40));
  EXPECT_EQ(budget.used(), 100u);
  EXPECT_FALSE(budget.TryReserve(1));
  budget.Release(70);
  EXPECT_TRUE(budget.TryReserve(70));
  EXPECT_FALSE(budget.TryReserve(~uint64_t{0}));
  MemoryBudget unlimited(0, nullptr);
  EXPECT_TRUE(unlimited.TryReserve(uint64_t{1} << 50));
}

TEST(MemoryBudgetTest, ConcurrentClaimsNeverPassTheLimit) {
  MemoryBudget budget(1000, nullptr);
  std::atomic<bool> over{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (budget.TryReserve(7)) {
          if (budget.used() > 1000) over = true;
          budget.Release(7);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(over.load());
  EXPECT_EQ(budget.used(), 0u);
}

TEST(ReducerBlocksTest, SpilledBlocksReachEachReducerInTheOrderAdded) {
  BudgetedContext tc(kBudget);
  constexpr uint32_t kReducers = 7;
  std::mt19937_64 rng(1);
  std::vector<std::vector<std::string>> want(kReducers);
  {
    ReducerBlocks<std::string> blocks(tc, kReducers);
    for (int i = 0; i < 60000; ++i) {
      const uint32_t r = static_cast<uint32_t>(rng() % kReducers);
      std::string v = std::to_string(i) + ":" + Value(rng, 200);
      blocks.Add(r, v);
      want[r].push_back(v);
    }
    blocks.Flush();
    EXPECT_GT(tc.counters().spills, 0u) << "12 MB through a 2 MB budget never spilled";
    EXPECT_LE(tc.budget().used(), kBudget);
  }
  EXPECT_EQ(tc.budget().used(), 0u) << "the claim outlived its blocks";
  std::vector<std::vector<std::string>> got(kReducers);
  for (const auto& [r, block] : tc.written) {
    DecodeBlock<std::string>(block, [&, r = r](std::string& v) { got[r].push_back(v); });
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(tc.counters().records_out, 60000u);
  EXPECT_EQ(tc.files_left(), 0u);
}

struct ByKey {
  bool operator()(const std::pair<std::string, int64_t>& a,
                  const std::pair<std::string, int64_t>& b) const {
    return a.first < b.first;
  }
};

TEST(ExternalSorterTest, SortsStablyPastTheBudget) {
  BudgetedContext tc(kBudget);
  std::mt19937_64 rng(2);
  std::vector<std::pair<std::string, int64_t>> input;
  for (int64_t i = 0; i < 100000; ++i) {
    // Few distinct keys, so stability is tested; long enough to be on the heap.
    input.emplace_back("key-" + std::to_string(rng() % 5000) + "-" + std::string(20, 'p'), i);
  }
  std::vector<std::pair<std::string, int64_t>> got;
  {
    ExternalSorter<std::pair<std::string, int64_t>, ByKey> sorter(tc, ByKey{});
    for (auto kv : input) sorter.Add(kv);
    EXPECT_GT(tc.counters().spills, 1u);
    sorter.Drain([&](std::pair<std::string, int64_t>& kv) { got.push_back(std::move(kv)); });
  }
  std::vector<std::pair<std::string, int64_t>> want = input;
  std::stable_sort(want.begin(), want.end(), ByKey{});
  EXPECT_EQ(got, want);
  EXPECT_EQ(tc.budget().used(), 0u);
}

TEST(ExternalSorterTest, WithinTheBudgetNothingSpills) {
  BudgetedContext tc(64 << 20);
  ExternalSorter<std::pair<std::string, int64_t>, ByKey> sorter(tc, ByKey{});
  std::vector<int64_t> order;
  for (int64_t i = 0; i < 1000; ++i) {
    std::pair<std::string, int64_t> kv(std::to_string(999 - i), i);
    sorter.Add(kv);
  }
  sorter.Drain([&](std::pair<std::string, int64_t>& kv) { order.push_back(kv.second); });
  EXPECT_EQ(tc.counters().spills, 0u);
  EXPECT_EQ(order.size(), 1000u);
}

struct SumAgg {
  int64_t Create(int64_t&& v) { return v; }
  int64_t Merge(int64_t&& c, int64_t&& v) { return c + v; }
  int64_t MergeCombiners(int64_t&& a, int64_t&& b) { return a + b; }
};

struct ConcatAgg {
  std::string Create(std::string&& v) { return std::move(v); }
  std::string Merge(std::string&& c, std::string&& v) { return c + v; }
  std::string MergeCombiners(std::string&& a, std::string&& b) { return a + b; }
};

// The table's size estimate follows what its entries hold: a fixed-size
// combiner does not grow with merges, a string combiner does, a gathered
// group grows by every value.
TEST(CombineTableBytesTest, FollowsWhatTheCombinersHold) {
  SumAgg sum;
  CombineTable<int64_t, int64_t> sums;
  for (int64_t i = 0; i < 100000; ++i) {
    int64_t key = i % 10, v = i;
    sums.CombineWith(key, v, CombineTable<int64_t, int64_t>::Hash(key), sum);
  }
  EXPECT_LT(sums.bytes(), 4096u) << "10 sums are not " << sums.bytes() << " bytes";

  ConcatAgg concat;
  CombineTable<int64_t, std::string> strings;
  for (int64_t i = 0; i < 10000; ++i) {
    int64_t key = i % 10;
    std::string v(100, 'x');
    strings.CombineWith(key, v, CombineTable<int64_t, std::string>::Hash(key), concat);
  }
  EXPECT_GE(strings.bytes(), 1000000u) << "1 MB of concatenated strings";

  GatherAgg<int64_t> gather;
  CombineTable<int64_t, std::vector<int64_t>> groups;
  for (int64_t i = 0; i < 100000; ++i) {
    int64_t key = 7, v = i;
    groups.CombineWith(key, v, CombineTable<int64_t, std::vector<int64_t>>::Hash(key), gather);
  }
  EXPECT_GE(groups.bytes(), 800000u) << "100,000 gathered values";
}

TEST(ExternalCombinerTest, SumsByKeyPastTheBudget) {
  BudgetedContext tc(kBudget);
  std::mt19937_64 rng(3);
  std::map<std::string, int64_t> want;
  std::map<std::string, int64_t> got;
  {
    SumAgg agg;
    ExternalCombiner<std::string, int64_t, SumAgg> table(tc, agg);
    for (int i = 0; i < 300000; ++i) {
      std::string key = "k" + std::to_string(rng() % 60000) + std::string(24, 'x');
      int64_t v = static_cast<int64_t>(rng() % 100);
      want[key] += v;
      table.Add(key, v);
    }
    EXPECT_GT(tc.counters().spills, 1u);
    table.Drain([&](std::pair<std::string, int64_t>& kv) {
      EXPECT_TRUE(got.emplace(kv.first, kv.second).second) << "key " << kv.first << " twice";
    });
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(tc.budget().used(), 0u);
}

TEST(ExternalCombinerTest, GathersEveryValueOfAHotKeyInOrder) {
  BudgetedContext tc(kBudget);
  std::map<int64_t, std::vector<std::string>> want;
  std::map<int64_t, std::vector<std::string>> got;
  {
    GatherAgg<std::string> gather;
    ExternalCombiner<int64_t, std::vector<std::string>, GatherAgg<std::string>> groups(tc, gather);
    for (int64_t i = 0; i < 200000; ++i) {
      // Half the records on key 0, the rest spread.
      int64_t key = i % 2 == 0 ? 0 : i % 7919;
      std::string v = "value-" + std::to_string(i) + std::string(16, 'v');
      want[key].push_back(v);
      groups.Add(key, v);
    }
    EXPECT_GT(tc.counters().spills, 1u);
    groups.Drain([&](std::pair<int64_t, std::vector<std::string>>& kv) {
      EXPECT_TRUE(got.emplace(kv.first, std::move(kv.second)).second);
    });
  }
  EXPECT_EQ(got, want);
}

TEST(ExternalCombinerTest, AClaimIsGivenBackWhenAnOperatorThrows) {
  BudgetedContext tc(kBudget);
  try {
    SumAgg agg;
    ExternalCombiner<std::string, int64_t, SumAgg> table(tc, agg);
    for (int64_t i = 0; i < 20000; ++i) {
      std::string key = std::to_string(i) + std::string(30, 'k');
      int64_t v = i;
      table.Add(key, v);
    }
    EXPECT_GT(tc.budget().used(), 0u);
    throw std::runtime_error("a user function failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(tc.budget().used(), 0u);
}

// Cached partitions in memory take at most half the budget: beyond it a
// MEMORY_AND_DISK block goes to disk and a MEMORY block is refused; removing
// blocks gives their memory back.
TEST(BlockStoreBudgetTest, CachedBlocksTakeAtMostHalfTheBudget) {
  TempDir dir;
  MemoryBudget budget(1000, nullptr);
  {
    BlockStore store(dir.path() + "/blocks", &budget);
    ASSERT_TRUE(store.Put(1, 0, 0, std::string(300, 'a')).ok());
    EXPECT_EQ(budget.used(), 300u);
    Status refused = store.Put(1, 1, 0, std::string(300, 'b'));
    EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted) << refused.message();
    EXPECT_EQ(store.Get(1, 1), nullptr);
    ASSERT_TRUE(store.Put(1, 2, 2, std::string(300, 'c')).ok());
    EXPECT_EQ(store.memory_bytes(), 300u);
    EXPECT_EQ(store.disk_bytes(), 300u);
    ASSERT_NE(store.Get(1, 2), nullptr);
    EXPECT_EQ(*store.Get(1, 2), std::string(300, 'c'));
    // Tasks still get the other half.
    EXPECT_TRUE(budget.TryReserve(700));
    budget.Release(700);
    store.Remove(1);
    EXPECT_EQ(budget.used(), 0u);
    ASSERT_TRUE(store.Put(2, 0, 0, std::string(400, 'd')).ok());
    EXPECT_EQ(budget.used(), 400u);
  }
  EXPECT_EQ(budget.used(), 0u) << "a destroyed store keeps its claim";
}

}  // namespace
}  // namespace ember::internal
