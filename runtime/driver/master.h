// The --master string: where executors come from.
//
//   local, local[N], local[*]   one process; N task threads (local = 1)
//   local-cluster[E,C]          E executor processes with C cores each,
//   local-cluster[E,C,M]        started by the driver on this machine
//                               (M, megabytes per executor, is accepted for
//                               spark-submit compatibility)
//   external[E]                 E executors started by someone else (the
//                               Kubernetes operator, or by hand) connect to
//                               the driver's port
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ember/status.h"

namespace ember {

struct Master {
  enum class Kind { kLocal, kLocalCluster, kExternal };
  Kind kind = Kind::kLocal;
  uint32_t threads = 1;             // local
  uint32_t executors = 0;           // local-cluster, external
  uint32_t cores_per_executor = 1;  // local-cluster
  uint64_t executor_memory_mb = 0;  // local-cluster's optional third field
  std::string text;
};

// INVALID_ARGUMENT naming the string and the accepted forms on bad input.
Result<Master> ParseMaster(std::string_view text);

// Sizes like "512m", "2g", "1024k", "1073741824" (bytes) into bytes.
Result<uint64_t> ParseMemory(std::string_view text);

}  // namespace ember
