#include "operator/workqueue/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace ember::workqueue {

ItemExponentialRateLimiter::ItemExponentialRateLimiter(RateLimiterOptions options)
    : options_(options) {}

std::chrono::milliseconds ItemExponentialRateLimiter::When(const std::string& key) {
  int exponent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    exponent = failures_[key]++;
  }
  // Computed in floating point so that many failures cannot overflow.
  const double delay = static_cast<double>(options_.base_delay.count()) * std::pow(2.0, exponent);
  const double max = static_cast<double>(options_.max_delay.count());
  return std::chrono::milliseconds(static_cast<int64_t>(std::min(delay, max)));
}

void ItemExponentialRateLimiter::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int ItemExponentialRateLimiter::NumRequeues(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

}  // namespace ember::workqueue
