// zipWithIndex and zipWithUniqueId: each record paired with a number.
// zipWithIndex numbers records 0, 1, ... in partition order, from offsets
// the driver computed by counting each partition first; zipWithUniqueId
// needs no count: the i-th record of partition p of n gets i * n + p.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "ember/function.h"
#include "ember/record.h"
#include "ember/task.h"

namespace ember::internal {

template <typename T, bool kUnique>
struct ZipWithIdOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<std::pair<T, int64_t>, T>>::value;
    int64_t next = partition;
    int64_t step = node.num_partitions;
    if constexpr (!kUnique) {
      auto offsets = DecodeFromString<std::vector<int64_t>>(node.capture);
      if (!offsets.ok()) Fail(offsets.status().WithContext("zipWithIndex: bad offsets"));
      if (partition >= offsets->size()) {
        Fail(InvalidArgumentError("zipWithIndex: no offset for partition " +
                                  std::to_string(partition)));
      }
      next = (*offsets)[partition];
      step = 1;
    }
    class Numberer final : public Consumer<T> {
     public:
      Numberer(Consumer<std::pair<T, int64_t>>& down, int64_t first, int64_t step)
          : down_(down), next_(first), step_(step) {}
      void Push(T& v) override {
        std::pair<T, int64_t> out(std::move(v), next_);
        next_ += step_;
        down_.Push(out);
      }

     private:
      Consumer<std::pair<T, int64_t>>& down_;
      int64_t next_;
      int64_t step_;
    } numberer(As<std::pair<T, int64_t>>(out), next, step);
    tc.RunParent(node, 0, partition, numberer);
  }
};

}  // namespace ember::internal
