// sortByKey, sortBy and repartitionAndSortWithinPartitions.
//
// A total sort samples the keys first (a small job the driver runs when the
// RDD is defined, as Spark does), chooses range bounds so that each output
// partition gets about as many records, and sends each record to the
// partition of its range; each reducer then sorts what it received. The
// bounds travel in the map side's capture: parameters chosen at run time.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "ember/core/external_sorter.h"
#include "ember/core/reducer_blocks.h"
#include "ember/function.h"
#include "ember/record.h"
#include "ember/task.h"

namespace ember::internal {

// The default order of keys.
struct Less {
  template <typename A>
  bool operator()(const A& a, const A& b) const {
    return a < b;
  }
};

// An order on keys: the user's comparator, possibly reversed. Built from
// the capture (descending, comparator state) on executors, and from the
// comparator itself on the driver.
template <typename K, typename Cmp>
class KeyOrder {
 public:
  KeyOrder(bool descending, std::string_view cmp_capture)
      : descending_(descending), cmp_(cmp_capture) {}
  bool Before(const K& a, const K& b) {
    return descending_ ? static_cast<bool>(cmp_.get()(b, a)) : static_cast<bool>(cmp_.get()(a, b));
  }

 private:
  bool descending_;
  CapturedFn<Cmp> cmp_;
};

// What the map side of a range shuffle carries: the order and the bounds,
// which are sorted in that order. Reducer i receives the keys k with
// bounds[i-1] < k <= bounds[i].
template <typename K>
using RangeCapture = std::tuple<bool, std::string, std::vector<K>>;
// What the sorting read side carries: the order.
using OrderCapture = std::tuple<bool, std::string>;

template <typename K, typename V, typename Cmp>
struct RangeWriteOp {
  static void Write(TaskContext& tc, const NodeView& top, uint32_t partition,
                    std::string_view capture, uint32_t reducers) {
    (void)Registered<&Write, WriterSignature<std::pair<K, V>>>::value;
    auto spec = DecodeFromString<RangeCapture<K>>(capture);
    if (!spec.ok()) Fail(spec.status().WithContext("sortByKey: bad range bounds"));
    auto& [descending, cmp_capture, bounds] = *spec;
    if (bounds.size() + 1 != reducers) {
      Fail(InvalidArgumentError("sortByKey: " + std::to_string(bounds.size()) + " bounds for " +
                                std::to_string(reducers) + " reducers"));
    }
    KeyOrder<K, Cmp> order(descending, cmp_capture);
    class Partitioner final : public Consumer<std::pair<K, V>> {
     public:
      Partitioner(TaskContext& tc, uint32_t n, KeyOrder<K, Cmp>& o, const std::vector<K>& b)
          : blocks(tc, n), order_(o), bounds_(b) {}
      void Push(std::pair<K, V>& kv) override {
        auto it = std::lower_bound(
            bounds_.begin(), bounds_.end(), kv.first,
            [&](const K& bound, const K& key) { return order_.Before(bound, key); });
        blocks.Add(static_cast<uint32_t>(it - bounds_.begin()), kv);
      }
      ReducerBlocks<std::pair<K, V>> blocks;

     private:
      KeyOrder<K, Cmp>& order_;
      const std::vector<K>& bounds_;
    } partitioner(tc, reducers, order, bounds);
    tc.RunNode(top.index, partition, partitioner);
    partitioner.blocks.Flush();
  }
};

// Reads one shuffle partition and emits it sorted by key, spilling sorted
// runs beyond the memory budget; records with equal keys keep the order
// they arrived in.
template <typename K, typename V, typename Cmp>
struct SortReadOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, ShuffleReadSignature<std::pair<K, V>>>::value;
    auto spec = DecodeFromString<OrderCapture>(node.capture);
    if (!spec.ok()) Fail(spec.status().WithContext("sort: bad order"));
    KeyOrder<K, Cmp> order(std::get<0>(*spec), std::get<1>(*spec));
    auto& down = As<std::pair<K, V>>(out);
    auto before = [&](const std::pair<K, V>& a, const std::pair<K, V>& b) {
      return order.Before(a.first, b.first);
    };
    ExternalSorter<std::pair<K, V>, decltype(before)> sorter(tc, before);
    tc.ReadShuffle(node.Shuffle(0), partition, [&](std::string_view block) {
      DecodeBlock<std::pair<K, V>>(block, [&](std::pair<K, V>& kv) {
        ++tc.counters().records_in;
        sorter.Add(kv);
      });
    });
    sorter.Drain([&](std::pair<K, V>& kv) { down.Push(kv); });
  }
};

// The sampling job's sink: how many records the partition holds, and a
// uniform sample of at most `size` of their keys (reservoir sampling, seeded
// by the partition so that a retried task samples the same keys).
template <typename K, typename V>
struct SampleKeysSink {
  static std::string Run(TaskContext& tc, const NodeView& top, uint32_t partition,
                         std::string_view capture) {
    (void)Registered<&Run, ResultSignature<std::pair<K, V>>>::value;
    auto spec = DecodeFromString<std::pair<uint64_t, uint64_t>>(capture);
    if (!spec.ok()) Fail(spec.status().WithContext("sortByKey: bad sample size"));
    class Sampler final : public Consumer<std::pair<K, V>> {
     public:
      Sampler(uint64_t size, uint64_t seed) : size_(size), rng_(seed) {}
      void Push(std::pair<K, V>& kv) override {
        ++count;
        if (keys.size() < size_) {
          keys.push_back(kv.first);
          return;
        }
        const uint64_t j = std::uniform_int_distribution<uint64_t>(0, count - 1)(rng_);
        if (j < size_) keys[j] = kv.first;
      }
      uint64_t count = 0;
      std::vector<K> keys;

     private:
      uint64_t size_;
      std::mt19937_64 rng_;
    } sampler(spec->first, spec->second ^ (uint64_t{partition} * 0x9E3779B97F4A7C15ULL));
    tc.RunNode(top.index, partition, sampler);
    return EncodeToString(
        std::pair<uint64_t, std::vector<K>>(sampler.count, std::move(sampler.keys)));
  }
};

// The driver's choice of range bounds from the samples: each sampled key
// stands for count/sample-size records of its partition, and a bound is
// placed each time the weight passed reaches another 1/partitions of the
// total. Equal keys never make two bounds, so skewed keys give fewer,
// fuller partitions rather than empty ones. `before` is the key order.
template <typename K, typename Before>
std::vector<K> ChooseRangeBounds(std::vector<std::pair<uint64_t, std::vector<K>>> samples,
                                 uint32_t partitions, Before before) {
  std::vector<std::pair<K, double>> weighted;
  double total = 0;
  for (auto& [count, keys] : samples) {
    if (keys.empty()) continue;
    const double weight = static_cast<double>(count) / static_cast<double>(keys.size());
    for (K& k : keys) weighted.emplace_back(std::move(k), weight);
    total += static_cast<double>(count);
  }
  std::vector<K> bounds;
  if (partitions <= 1 || weighted.empty()) return bounds;
  std::stable_sort(weighted.begin(), weighted.end(),
                   [&](const auto& a, const auto& b) { return before(a.first, b.first); });
  const double step = total / partitions;
  double passed = 0;
  double target = step;
  for (auto& [key, weight] : weighted) {
    passed += weight;
    if (passed < target) continue;
    if (bounds.empty() || before(bounds.back(), key)) {
      bounds.push_back(key);
      if (bounds.size() + 1 == partitions) break;
    }
    while (target <= passed) target += step;
  }
  // The last key sampled as a bound would leave the last partition for keys
  // beyond every sample: an empty partition in the common case.
  if (!bounds.empty() && !before(bounds.back(), weighted.back().first)) bounds.pop_back();
  return bounds;
}

}  // namespace ember::internal
