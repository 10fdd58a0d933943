// The sources of a lineage: parallelize's encoded slices here; textFile,
// range and union (which need no user types) in the runtime library.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <cstdint>
#include <utility>

#include "ember/function.h"
#include "ember/record.h"
#include "ember/task.h"

namespace ember::internal {

// Records encoded in the node's payload for this partition (parallelize).
template <typename T>
struct DecodeSourceOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<T, void>>::value;
    auto& down = As<T>(out);
    RecordReader reader(tc.Payload(node, partition));
    while (!reader.AtEnd()) {
      T value;
      Status st = Decode(reader, value);
      if (!st.ok()) Fail(st.WithContext("decoding a parallelize slice"));
      if (++tc.counters().records_in % kCancelCheckEvery == 0) tc.CheckCancelled();
      down.Push(value);
    }
  }
};

// Non-template sources and union live in the runtime library.
FnRef UnionRef();
FnRef TextFileRef();
FnRef TextFileWithPathRef();
FnRef WholeTextFilesRef();
FnRef BinaryRecordsRef();
FnRef RangeRef();
// coalesce: partition p reads the parent partitions CoalescedParents gives,
// [first, last).
FnRef CoalesceRef();
std::pair<uint32_t, uint32_t> CoalescedParents(uint32_t partition, uint32_t partitions,
                                               uint32_t parent_partitions);

}  // namespace ember::internal
