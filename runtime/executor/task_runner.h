// Runs one task description on the calling thread and reports its outcome.
//
// The description names operators by FnRef; each is resolved against the
// invokers registered by the loaded application library, and the node table
// is checked (parents before children, shuffle inputs present) before any
// operator runs, so a malformed description fails the task with a clear
// error instead of crashing the executor.
//
// Thread-safety: RunTask may run concurrently on many threads; the
// environment's members are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "runtime/executor/shuffle_reader.h"
#include "runtime/proto/ember.pb.h"

namespace ember {
class BlockStore;
class MemoryBudget;
class Metrics;
namespace shuffle {
class ShuffleStore;
}
namespace transport {
class ShuffleClient;
}

struct TaskEnvironment {
  std::string executor_id;
  shuffle::ShuffleStore* store = nullptr;              // this executor's map outputs
  BlockStore* blocks = nullptr;                        // its cached partitions; null: none kept
  transport::ShuffleClient* shuffle_client = nullptr;  // remote fetches; null: all local
  Metrics* metrics = nullptr;                          // optional
  MemoryBudget* memory = nullptr;                      // null: no limit
  std::string spill_dir;                               // spill files go here
  FetchOptions fetch;                                  // retries, timeouts, buffer
  // Asks the driver for permission to commit task `task_id`'s output; false
  // with a reason when another attempt commits it (or the job failed).
  // Unset: every commit is allowed (tests that run one attempt).
  std::function<bool(uint64_t task_id, std::string* reason)> can_commit;
};

// `cancelled`, when given, is polled between batches; once true the task
// stops and reports KILLED.
proto::TaskStatus RunTask(const proto::TaskDescription& task, const TaskEnvironment& env,
                          const std::atomic<bool>* cancelled = nullptr);

}  // namespace ember
