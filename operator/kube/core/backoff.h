// Backoff policies: how long to wait before the next attempt.
//
// Backoff is an interface so that each user (request retries, the watcher's
// reconnects) can be handed a different policy, and tests a deterministic
// one. ExponentialBackoff doubles from a minimum to a maximum with jitter, so
// that many clients cut off together do not reconnect in lock step.
// ResetTimerBackoff wraps another policy and starts it over once a period has
// gone by without a failure: a watch that was healthy for minutes and then
// drops should reconnect quickly, not at the 30 s it reached last week.
//
// Thread-safety: not thread-safe; each retry loop owns its Backoff.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>

namespace ember::kube {

class Backoff {
 public:
  virtual ~Backoff() = default;
  // The delay before the next attempt; each call counts one failure.
  virtual std::chrono::milliseconds Next() = 0;
  // Called after a success: the next failure starts from the minimum again.
  virtual void Reset() = 0;
};

class ExponentialBackoff : public Backoff {
 public:
  struct Options {
    std::chrono::milliseconds min{800};
    std::chrono::milliseconds max{30000};
    double factor = 2.0;
    // Each delay is drawn uniformly from [d * (1 - jitter), d * (1 + jitter)]
    // and then capped at max; 0 disables jitter.
    double jitter = 0.5;
    // 0 seeds from std::random_device.
    uint64_t seed = 0;
  };

  explicit ExponentialBackoff(const Options& options);

  std::chrono::milliseconds Next() override;
  void Reset() override;

 private:
  Options options_;
  double current_ms_;
  std::mt19937_64 rng_;
};

class ResetTimerBackoff : public Backoff {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `inner` is reset when Next() is called more than `reset_after` since the
  // previous call to Next(), i.e. after a healthy stretch that long.
  ResetTimerBackoff(std::unique_ptr<Backoff> inner, std::chrono::milliseconds reset_after,
                    Clock clock = {});

  std::chrono::milliseconds Next() override;
  void Reset() override;

 private:
  std::unique_ptr<Backoff> inner_;
  std::chrono::milliseconds reset_after_;
  Clock clock_;
  bool has_last_ = false;
  std::chrono::steady_clock::time_point last_;
};

// The watcher's default: 0.8 s doubling to 30 s with jitter, starting over
// after 120 s without an error (kube-runtime's DefaultBackoff).
std::unique_ptr<Backoff> DefaultWatchBackoff();

}  // namespace ember::kube
