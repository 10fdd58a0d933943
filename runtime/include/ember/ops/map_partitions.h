// mapPartitions and mapPartitionsWithIndex: a user function over a whole
// partition at once.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "ember/function.h"
#include "ember/ops/records.h"
#include "ember/task.h"

namespace ember::internal {

// kWithIndex: f(partition index, records) rather than f(records).
template <typename In, typename Out, typename F, bool kWithIndex = false>
struct MapPartitionsOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<Out, In>>::value;
    CapturedFn<F> f(node.capture);
    auto& down = As<Out>(out);
    VectorConsumer<In> all;
    tc.RunParent(node, 0, partition, all);
    auto results = [&] {
      if constexpr (kWithIndex) {
        return f.get()(partition, std::move(all.items));
      } else {
        return f.get()(std::move(all.items));
      }
    }();
    for (auto&& x : results) {
      Out value(std::move(x));
      down.Push(value);
    }
  }
};

}  // namespace ember::internal
