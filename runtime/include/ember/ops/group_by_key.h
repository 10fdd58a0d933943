// groupByKey: records partitioned by key, every value of a key gathered on
// the read side.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "ember/core/external_combiner.h"
#include "ember/core/reducer_blocks.h"
#include "ember/function.h"
#include "ember/task.h"

namespace ember::internal {

// Map side of groupByKey: partition by key, no combining.
template <typename K, typename V>
struct HashWriteOp {
  static void Write(TaskContext& tc, const NodeView& top, uint32_t partition, std::string_view,
                    uint32_t reducers) {
    (void)Registered<&Write, WriterSignature<std::pair<K, V>>>::value;
    class Partitioner final : public Consumer<std::pair<K, V>> {
     public:
      Partitioner(TaskContext& tc, uint32_t n) : blocks(tc, n), reducers_(n) {}
      void Push(std::pair<K, V>& kv) override { blocks.Add(ReducerOf(kv.first, reducers_), kv); }
      ReducerBlocks<std::pair<K, V>> blocks;

     private:
      uint32_t reducers_;
    } partitioner(tc, reducers);
    tc.RunNode(top.index, partition, partitioner);
    partitioner.blocks.Flush();
  }
};

// Read side: every value of a key gathered, spilling beyond the budget.
template <typename K, typename V>
struct GroupReadOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, ShuffleReadSignature<std::pair<K, std::vector<V>>>>::value;
    auto& down = As<std::pair<K, std::vector<V>>>(out);
    GatherAgg<V> gather;
    ExternalCombiner<K, std::vector<V>, GatherAgg<V>> groups(tc, gather);
    tc.ReadShuffle(node.Shuffle(0), partition, [&](std::string_view block) {
      DecodeBlock<std::pair<K, V>>(block, [&](std::pair<K, V>& kv) {
        ++tc.counters().records_in;
        groups.Add(kv.first, kv.second);
      });
    });
    groups.Drain([&](std::pair<K, std::vector<V>>& kv) { down.Push(kv); });
  }
};

// Without a shuffle, for a parent already partitioned by key the same way.
template <typename K, typename V>
struct GroupNarrowOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<std::pair<K, std::vector<V>>, std::pair<K, V>>>::value;
    auto& down = As<std::pair<K, std::vector<V>>>(out);
    GatherAgg<V> gather;
    CombiningConsumer<K, V, std::vector<V>, GatherAgg<V>> grouper(tc, gather);
    tc.RunParent(node, 0, partition, grouper);
    grouper.table.Drain([&](std::pair<K, std::vector<V>>& kv) { down.Push(kv); });
  }
};

}  // namespace ember::internal
