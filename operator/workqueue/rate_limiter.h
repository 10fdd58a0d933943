// Per-key exponential backoff for the work queue.
//
// Each failure of a key doubles its delay: 5 ms, 10 ms, 20 ms, ... capped at
// 1000 s (controller-runtime's defaults). 5 ms lets a transient conflict be
// retried almost at once; 1000 s (about 17 minutes) bounds how long a
// persistently failing object waits, while 18 doublings in, it no longer
// costs the API server anything noticeable. Forget() resets a key after it
// succeeds.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ember::workqueue {

struct RateLimiterOptions {
  std::chrono::milliseconds base_delay{5};
  std::chrono::milliseconds max_delay{1000 * 1000};
};

class ItemExponentialRateLimiter {
 public:
  explicit ItemExponentialRateLimiter(RateLimiterOptions options = {});

  // The delay before `key` may be retried; counts one failure.
  std::chrono::milliseconds When(const std::string& key);
  // Clears the failure count of `key`.
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;

 private:
  RateLimiterOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> failures_;
};

}  // namespace ember::workqueue
