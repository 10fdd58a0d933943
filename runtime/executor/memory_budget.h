// The memory an executor's tasks may fill with records (hash tables, sort
// buffers, unwritten shuffle output), shared by its task threads.
//
// Tasks claim memory as they grow and give it back when they spill or end
// (ember/core/spill.h). A claim that does not fit is refused, and the task
// spills instead; so the records held stay near the budget whatever the
// data size, and peak RSS is the budget plus the process's fixed overhead.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace ember {

class Metrics;

class MemoryBudget {
 public:
  // `bytes` 0: no limit. `metrics` (optional) gets the budget and what is used.
  MemoryBudget(uint64_t bytes, Metrics* metrics);

  // Claims `bytes` more; false, claiming nothing, when that would pass the budget.
  bool TryReserve(uint64_t bytes);
  void Release(uint64_t bytes);

  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }

 private:
  void Publish(uint64_t used);

  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
  Metrics* metrics_;
};

// The budget of a process with `memory` bytes when none is configured: 60%,
// the rest being for the process, its buffers and the allocator's slack, as
// Spark's spark.memory.fraction.
inline uint64_t DefaultMemoryBudget(uint64_t memory) {
  return memory / 5 * 3;
}

}  // namespace ember
