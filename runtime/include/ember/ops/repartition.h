// repartition: records spread round robin over the reducers, read back as
// they come.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <string_view>

#include "ember/core/reducer_blocks.h"
#include "ember/function.h"
#include "ember/task.h"

namespace ember::internal {

// Map side of repartition: round robin, starting where the partition index
// says so that small partitions do not all land on reducer 0.
template <typename T>
struct RoundRobinWriteOp {
  static void Write(TaskContext& tc, const NodeView& top, uint32_t partition, std::string_view,
                    uint32_t reducers) {
    (void)Registered<&Write, WriterSignature<T>>::value;
    class Spreader final : public Consumer<T> {
     public:
      Spreader(TaskContext& tc, uint32_t n, uint32_t start)
          : blocks(tc, n), reducers_(n), next_(start % n) {}
      void Push(T& v) override {
        blocks.Add(next_, v);
        next_ = next_ + 1 == reducers_ ? 0 : next_ + 1;
      }
      ReducerBlocks<T> blocks;

     private:
      uint32_t reducers_;
      uint32_t next_;
    } spreader(tc, reducers, partition);
    tc.RunNode(top.index, partition, spreader);
    spreader.blocks.Flush();
  }
};

template <typename T>
struct PlainReadOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, ShuffleReadSignature<T>>::value;
    auto& down = As<T>(out);
    tc.ReadShuffle(node.Shuffle(0), partition, [&](std::string_view block) {
      DecodeBlock<T>(block, [&](T& v) {
        ++tc.counters().records_in;
        down.Push(v);
      });
    });
  }
};

}  // namespace ember::internal
