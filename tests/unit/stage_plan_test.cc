// Stage splitting and partitioning: how a lineage graph becomes stages, what
// one task of a stage carries, and how sources and shuffles partition data.
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>

#include "ember/rdd.h"
#include "graph_only_runner.h"
#include "runtime/scheduler/stage_plan.h"
#include "runtime/textio/splits.h"

namespace ember {
namespace {

using internal::Node;
using internal::ShuffleDependency;
using scheduler::PlanJob;
using scheduler::StagePlan;

// Records the graph the RDD templates build; runs no job.
using testing::GraphOnlyRunner;

class StagePlanTest : public ::testing::Test {
 protected:
  GraphOnlyRunner runner_;
  Context ctx_{&runner_};

  RDD<std::pair<int64_t, int64_t>> Pairs(uint32_t slices) {
    return ctx_.range(0, 100, 1, slices).map([](int64_t x) {
      return std::pair<int64_t, int64_t>(x % 7, x);
    });
  }
};

std::vector<std::string> Names(const StagePlan& stage) {
  std::vector<std::string> names;
  for (const auto& n : stage.nodes) names.push_back(n->name);
  return names;
}

TEST_F(StagePlanTest, NarrowChainIsOneStagePipelinedInOrder) {
  auto rdd = ctx_.range(0, 10, 1, 3)
                 .map([](int64_t x) { return x * 2; })
                 .filter([](int64_t x) { return x > 4; })
                 .flatMap([](int64_t x) {
                   return std::vector<int64_t>{x, x};
                 });
  auto stages = PlanJob(rdd.node(), "collect");
  ASSERT_EQ(stages.size(), 1u);
  EXPECT_EQ(Names(stages[0]), (std::vector<std::string>{"range", "map", "filter", "flatMap"}));
  EXPECT_EQ(stages[0].output, nullptr);
  EXPECT_TRUE(stages[0].inputs.empty());
  EXPECT_EQ(stages[0].num_partitions(), 3u);
}

TEST_F(StagePlanTest, ShuffleSplitsIntoMapAndResultStages) {
  auto reduced = Pairs(4).reduceByKey([](int64_t a, int64_t b) { return a + b; }, 5);
  auto stages = PlanJob(reduced.mapValues([](int64_t v) { return v + 1; }).node(), "collect");
  ASSERT_EQ(stages.size(), 2u);
  // The map stage: the source and the map, ending where the shuffle writes.
  EXPECT_EQ(Names(stages[0]), (std::vector<std::string>{"range", "map"}));
  ASSERT_NE(stages[0].output, nullptr);
  EXPECT_EQ(stages[0].output->num_reducers, 5u);
  EXPECT_EQ(stages[0].num_partitions(), 4u);
  EXPECT_EQ(stages[0].name, "reduceByKey");
  // The result stage starts at the shuffle's read side.
  EXPECT_EQ(Names(stages[1]), (std::vector<std::string>{"reduceByKey", "mapValues"}));
  ASSERT_EQ(stages[1].inputs.size(), 1u);
  EXPECT_EQ(stages[1].inputs[0], stages[0].output);
  EXPECT_EQ(stages[1].num_partitions(), 5u);
}

TEST_F(StagePlanTest, ChainedShufflesPlanParentsFirst) {
  auto twice = Pairs(2)
                   .reduceByKey([](int64_t a, int64_t b) { return a + b; }, 3)
                   .map([](std::pair<int64_t, int64_t> kv) {
                     return std::pair<int64_t, int64_t>(kv.second % 2, kv.first);
                   })
                   .groupByKey(2);
  auto stages = PlanJob(twice.node(), "count");
  ASSERT_EQ(stages.size(), 3u);
  EXPECT_EQ(stages[0].name, "reduceByKey");
  EXPECT_EQ(stages[1].name, "groupByKey");
  EXPECT_EQ(stages[2].name, "count");
  EXPECT_EQ(stages[1].inputs[0], stages[0].output);
  EXPECT_EQ(stages[2].inputs[0], stages[1].output);
}

TEST_F(StagePlanTest, ShuffleReachedTwiceIsPlannedOnce) {
  auto reduced = Pairs(2).reduceByKey([](int64_t a, int64_t b) { return a + b; });
  auto both = reduced.unionWith(reduced.filter([](const auto& kv) { return kv.first > 2; }));
  auto stages = PlanJob(both.node(), "collect");
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[1].inputs.size(), 1u);
  // The shared read node appears once in the stage's node table.
  std::set<const Node*> unique;
  for (const auto& n : stages[1].nodes) unique.insert(n.get());
  EXPECT_EQ(unique.size(), stages[1].nodes.size());
  EXPECT_EQ(both.getNumPartitions(), 2 * reduced.getNumPartitions());
}

TEST_F(StagePlanTest, DefaultReducersFollowTheParentPartitions) {
  auto reduced = Pairs(6).reduceByKey([](int64_t a, int64_t b) { return a + b; });
  EXPECT_EQ(reduced.getNumPartitions(), 6u);
  EXPECT_EQ(Pairs(6).groupByKey(9).getNumPartitions(), 9u);
  EXPECT_EQ(ctx_.range(0, 10, 1, 3).repartition(7).getNumPartitions(), 7u);
  EXPECT_THROW(ctx_.range(0, 10).repartition(0), InvalidInput);
}

TEST_F(StagePlanTest, TaskCarriesOnlyItsOwnSourceDataThroughUnion) {
  auto a = ctx_.range(0, 30, 1, 3);
  auto b = ctx_.range(100, 120, 1, 2);
  auto u = a.unionWith(b).map([](int64_t x) { return x + 1; });
  auto stages = PlanJob(u.node(), "collect");
  ASSERT_EQ(stages.size(), 1u);
  // Partition 4 of the union is partition 1 of `b`.
  proto::TaskDescription task = scheduler::DescribeTask(stages[0], 4, {});
  ASSERT_EQ(task.nodes_size(), 4);
  EXPECT_EQ(task.top(), 3u);
  size_t with_payload = 0;
  for (int i = 0; i < task.nodes_size(); ++i) {
    const auto& node = task.nodes(i);
    for (uint32_t parent : node.parents()) EXPECT_LT(parent, static_cast<uint32_t>(i));
    if (node.payload().empty()) continue;
    ++with_payload;
    ASSERT_EQ(node.payload().size(), 1u);
    ASSERT_TRUE(node.payload().contains(1));
    auto slice = DecodeFromString<std::tuple<int64_t, int64_t, uint64_t>>(node.payload().at(1));
    ASSERT_TRUE(slice.ok());
    EXPECT_EQ(std::get<0>(*slice), 110);  // b's second slice starts at 110
    EXPECT_EQ(std::get<2>(*slice), 10u);
  }
  EXPECT_EQ(with_payload, 1u);
}

TEST_F(StagePlanTest, TaskListsEveryMapOutputOfItsShuffleInputs) {
  auto reduced = Pairs(3).reduceByKey([](int64_t a, int64_t b) { return a + b; }, 2);
  auto stages = PlanJob(reduced.node(), "collect");
  const uint32_t shuffle = stages[0].output->shuffle_id;
  std::map<uint32_t, std::vector<scheduler::MapOutput>> outputs;
  outputs[shuffle] = {{"1", "h1:1"}, {"2", "h2:2"}, {"1", "h1:1"}};
  proto::TaskDescription task = scheduler::DescribeTask(stages[1], 1, outputs);
  ASSERT_EQ(task.shuffles_size(), 1);
  EXPECT_EQ(task.shuffles(0).shuffle_id(), shuffle);
  ASSERT_EQ(task.shuffles(0).maps_size(), 3);
  EXPECT_EQ(task.shuffles(0).maps(1).executor_id(), "2");
  EXPECT_EQ(task.shuffles(0).maps(1).address(), "h2:2");
  ASSERT_EQ(task.nodes(static_cast<int>(task.top())).shuffle_ids_size(), 1);
  EXPECT_EQ(task.nodes(static_cast<int>(task.top())).shuffle_ids(0), shuffle);
}

// Table: (count, slices) -> every element in exactly one slice, sizes within one.
TEST_F(StagePlanTest, RangeSlicesCoverEveryElementOnce) {
  const std::vector<std::tuple<int64_t, int64_t, int64_t, uint32_t>> cases = {
      {0, 10, 1, 3}, {0, 1, 1, 4}, {5, -5, -2, 3}, {0, 1000, 7, 16}, {0, 0, 1, 2}};
  for (const auto& [start, end, step, slices] : cases) {
    auto node = ctx_.range(start, end, step, slices).node();
    std::vector<int64_t> seen;
    uint64_t smallest = UINT64_MAX, largest = 0;
    for (uint32_t p = 0; p < slices; ++p) {
      auto s = DecodeFromString<std::tuple<int64_t, int64_t, uint64_t>>(node->payload(p));
      ASSERT_TRUE(s.ok());
      auto [first, st, count] = *s;
      smallest = std::min(smallest, count);
      largest = std::max(largest, count);
      for (uint64_t i = 0; i < count; ++i) seen.push_back(first + static_cast<int64_t>(i) * st);
    }
    std::vector<int64_t> expected;
    for (int64_t v = start; step > 0 ? v < end : v > end; v += step) expected.push_back(v);
    EXPECT_EQ(seen, expected) << start << ".." << end << " step " << step;
    EXPECT_LE(largest - smallest, 1u);
  }
}

// Counts at the limits of int64 must not overflow into an empty range.
TEST_F(StagePlanTest, RangeCountsAtTheLimitsOfInt64) {
  const int64_t lo = std::numeric_limits<int64_t>::min();
  const int64_t hi = std::numeric_limits<int64_t>::max();
  const std::vector<std::tuple<int64_t, int64_t, int64_t>> cases = {
      {lo, hi, 3}, {hi, lo, -3}, {lo, hi, hi}, {hi, lo, lo}, {0, hi, 1}};
  for (const auto& [start, end, step] : cases) {
    auto node = ctx_.range(start, end, step, 4).node();
    __int128 total = 0;
    for (uint32_t p = 0; p < 4; ++p) {
      auto s = DecodeFromString<std::tuple<int64_t, int64_t, uint64_t>>(node->payload(p));
      ASSERT_TRUE(s.ok());
      total += std::get<2>(*s);
    }
    const __int128 span =
        step > 0 ? static_cast<__int128>(end) - start : static_cast<__int128>(start) - end;
    const __int128 mag = step > 0 ? static_cast<__int128>(step) : -static_cast<__int128>(step);
    EXPECT_TRUE(total == (span + mag - 1) / mag) << start << " " << end << " " << step;
  }
}

TEST_F(StagePlanTest, ParallelizeSlicesKeepOrderAndBalance) {
  std::vector<std::string> data;
  for (int i = 0; i < 11; ++i) data.push_back("r" + std::to_string(i));
  auto node = ctx_.parallelize(data, 4).node();
  std::vector<std::string> seen;
  for (uint32_t p = 0; p < 4; ++p) {
    const std::string payload = node->payload(p);
    RecordReader reader(payload);
    size_t in_slice = 0;
    while (!reader.AtEnd()) {
      std::string s;
      ASSERT_TRUE(Decode(reader, s).ok());
      seen.push_back(s);
      ++in_slice;
    }
    EXPECT_GE(in_slice, 2u);
    EXPECT_LE(in_slice, 3u);
  }
  EXPECT_EQ(seen, data);
}

// How many shuffles a job's stages write.
size_t Shuffles(const std::vector<StagePlan>& stages) {
  size_t n = 0;
  for (const auto& s : stages) n += s.output != nullptr ? 1 : 0;
  return n;
}

TEST_F(StagePlanTest, JoinOfSidesPartitionedAlikeReadsThemWithoutAnotherShuffle) {
  auto sum = [](int64_t a, int64_t b) { return a + b; };
  auto left = Pairs(3).reduceByKey(sum, 4);
  auto right = Pairs(2).reduceByKey(sum, 4);
  auto joined = left.join(right);
  EXPECT_EQ(joined.getNumPartitions(), 4u);
  auto stages = PlanJob(joined.node(), "collect");
  // The two reduceByKey shuffles only; the join is in the result stage.
  EXPECT_EQ(Shuffles(stages), 2u);
  ASSERT_EQ(stages.back().inputs.size(), 2u);
  // mapValues keeps the partitioning, so a join after it still needs none.
  auto again = left.mapValues([](int64_t v) { return v + 1; }).join(right);
  EXPECT_EQ(Shuffles(PlanJob(again.node(), "collect")), 2u);
}

TEST_F(StagePlanTest, JoinShufflesEachSideNotPartitionedItsWay) {
  auto sum = [](int64_t a, int64_t b) { return a + b; };
  // Partitioned by key, but into 5 rather than the join's 4: shuffled again.
  auto left = Pairs(3).reduceByKey(sum, 5);
  auto right = Pairs(2).reduceByKey(sum, 4);
  auto stages = PlanJob(left.join(right, 4).node(), "collect");
  EXPECT_EQ(Shuffles(stages), 3u);
  // map does not keep the partitioning (it may change the key).
  auto mapped = right.map([](std::pair<int64_t, int64_t> kv) { return kv; });
  EXPECT_EQ(Shuffles(PlanJob(right.join(mapped).node(), "collect")), 2u);
  // Two plain sides: one shuffle each into the cogroup.
  auto plain = Pairs(3).cogroup(Pairs(2));
  auto plain_stages = PlanJob(plain.node(), "collect");
  EXPECT_EQ(Shuffles(plain_stages), 2u);
  ASSERT_EQ(plain_stages.back().nodes.back()->shuffles.size(), 2u);
  EXPECT_EQ(plain.getNumPartitions(), 3u);  // the larger side's count
}

TEST_F(StagePlanTest, AggregationOnItsOwnPartitioningIsNarrow) {
  auto sum = [](int64_t a, int64_t b) { return a + b; };
  auto once = Pairs(3).reduceByKey(sum, 4);
  EXPECT_EQ(Shuffles(PlanJob(once.reduceByKey(sum, 4).node(), "collect")), 1u);
  EXPECT_EQ(Shuffles(PlanJob(once.groupByKey(4).node(), "collect")), 1u);
  EXPECT_EQ(Shuffles(PlanJob(once.partitionBy(4).node(), "collect")), 1u);
  EXPECT_EQ(Shuffles(PlanJob(once.reduceByKey(sum, 3).node(), "collect")), 2u);
  EXPECT_EQ(
      Shuffles(PlanJob(
          once.filter([](const std::pair<int64_t, int64_t>&) { return true; }).groupByKey(4).node(),
          "collect")),
      1u);
}

TEST_F(StagePlanTest, CoalescedTaskCarriesTheSourceDataOfItsParentPartitions) {
  auto data = ctx_.parallelize(std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}, 7);
  auto fewer = data.coalesce(3);
  ASSERT_EQ(fewer.getNumPartitions(), 3u);
  EXPECT_EQ(data.coalesce(9).getNumPartitions(), 7u);
  auto stages = PlanJob(fewer.node(), "collect");
  ASSERT_EQ(stages.size(), 1u);
  std::set<uint32_t> covered;
  for (uint32_t p = 0; p < 3; ++p) {
    auto task = scheduler::DescribeTask(stages[0], p, {});
    for (const auto& [partition, bytes] : task.nodes(0).payload()) {
      EXPECT_TRUE(covered.insert(partition).second) << "parent partition " << partition;
    }
  }
  EXPECT_EQ(covered, (std::set<uint32_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(ShufflePartitioningTest, KeysSpreadEvenlyAndDeterministically) {
  constexpr uint32_t kReducers = 8;
  std::vector<int> counts(kReducers);
  for (int64_t k = 0; k < 80000; ++k) {
    const uint32_t r = internal::ReducerOf(k, kReducers);
    ASSERT_LT(r, kReducers);
    ASSERT_EQ(r, internal::ReducerOf(k, kReducers));
    ++counts[r];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 1000);
  // Equal keys of different string types land on the same reducer.
  EXPECT_EQ(internal::ReducerOf(std::string("word"), 13),
            internal::ReducerOf(std::string_view("word"), 13));
}

}  // namespace
}  // namespace ember
