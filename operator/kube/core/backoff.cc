#include "operator/kube/core/backoff.h"

#include <algorithm>

namespace ember::kube {

ExponentialBackoff::ExponentialBackoff(const Options& options)
    : options_(options),
      current_ms_(static_cast<double>(options.min.count())),
      rng_(options.seed != 0 ? options.seed : std::random_device{}()) {}

std::chrono::milliseconds ExponentialBackoff::Next() {
  double base = current_ms_;
  double delay = base;
  if (options_.jitter > 0) {
    std::uniform_real_distribution<double> spread(1.0 - options_.jitter, 1.0 + options_.jitter);
    delay = base * spread(rng_);
  }
  const double max_ms = static_cast<double>(options_.max.count());
  current_ms_ = std::min(base * options_.factor, max_ms);
  return std::chrono::milliseconds(static_cast<int64_t>(std::min(delay, max_ms)));
}

void ExponentialBackoff::Reset() {
  current_ms_ = static_cast<double>(options_.min.count());
}

ResetTimerBackoff::ResetTimerBackoff(std::unique_ptr<Backoff> inner,
                                     std::chrono::milliseconds reset_after, Clock clock)
    : inner_(std::move(inner)), reset_after_(reset_after), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

std::chrono::milliseconds ResetTimerBackoff::Next() {
  auto now = clock_();
  if (has_last_ && now - last_ > reset_after_) inner_->Reset();
  has_last_ = true;
  last_ = now;
  return inner_->Next();
}

void ResetTimerBackoff::Reset() {
  has_last_ = false;
  inner_->Reset();
}

std::unique_ptr<Backoff> DefaultWatchBackoff() {
  constexpr std::chrono::seconds kHealthyPeriod{120};
  return std::make_unique<ResetTimerBackoff>(
      std::make_unique<ExponentialBackoff>(ExponentialBackoff::Options{}), kHealthyPeriod);
}

}  // namespace ember::kube
