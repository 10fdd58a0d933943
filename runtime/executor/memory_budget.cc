#include "runtime/executor/memory_budget.h"

#include "runtime/metrics/metrics.h"

namespace ember {

MemoryBudget::MemoryBudget(uint64_t bytes, Metrics* metrics) : limit_(bytes), metrics_(metrics) {
  if (metrics_ != nullptr) metrics_->memory_budget_bytes->Set(static_cast<double>(limit_));
}

bool MemoryBudget::TryReserve(uint64_t bytes) {
  uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (limit_ != 0 && (bytes > limit_ || used > limit_ - bytes)) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  Publish(used + bytes);
  return true;
}

void MemoryBudget::Release(uint64_t bytes) {
  const uint64_t before = used_.fetch_sub(bytes, std::memory_order_relaxed);
  Publish(before - bytes);
}

void MemoryBudget::Publish(uint64_t used) {
  if (metrics_ != nullptr) metrics_->memory_used_bytes->Set(static_cast<double>(used));
}

}  // namespace ember
