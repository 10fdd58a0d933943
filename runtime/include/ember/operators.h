// The invokers behind each RDD operation, instantiated in the application
// library and called by executors through ember/function.h. One operation
// (or family) per header under ember/ops/; the hash tables and buffers they
// share under ember/core/.
//
// Shapes (all take the TaskContext and the node as the executor sees it):
//   node:    Run(tc, node, partition, out)     pushes the node's records into out
//   writer:  Write(tc, top, partition, capture, reducers)   map side of a shuffle
//   sink:    Run(tc, top, partition, capture) -> bytes      result of an action
// Records cross process boundaries only as encoded blocks.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ember/ops/actions.h"
#include "ember/ops/cache.h"
#include "ember/ops/cogroup.h"
#include "ember/ops/group_by_key.h"
#include "ember/ops/map.h"
#include "ember/ops/map_partitions.h"
#include "ember/ops/records.h"
#include "ember/ops/reduce_by_key.h"
#include "ember/ops/repartition.h"
#include "ember/ops/sample.h"
#include "ember/ops/save_text.h"
#include "ember/ops/sort.h"
#include "ember/ops/sources.h"
#include "ember/ops/zip_with_index.h"
#include "ember/task.h"

namespace ember::internal {

// Signatures of the three invoker shapes, for the executor's casts.
using NodeRunFn = void (*)(TaskContext&, const NodeView&, uint32_t, ErasedConsumer&);
using ShuffleWriteFn = void (*)(TaskContext&, const NodeView&, uint32_t, std::string_view,
                                uint32_t);
using ResultFn = std::string (*)(TaskContext&, const NodeView&, uint32_t, std::string_view);

}  // namespace ember::internal
