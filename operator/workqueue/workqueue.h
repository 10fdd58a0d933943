// A work queue of object keys for controllers (client-go's semantics).
//
// Guarantees:
//  - Deduplication: a key added several times before a worker takes it is
//    processed once. Controllers are level-based, so the latest state is all
//    a worker needs.
//  - No key is processed on two workers at once: a key added while it is
//    being processed is held back ("dirty") and queued again when the worker
//    calls Done(). Reconciles of one object are therefore serial.
//  - Fairness: keys are handed out in the order they became ready.
//  - Delays: AddAfter() makes a key ready later (one pending delay per key,
//    the earliest wins); AddRateLimited() uses the per-key exponential
//    backoff (5 ms doubling to 1000 s); Forget() resets it after a success.
//
// Every Get() that returns a key must be followed by Done(key).
//
// Thread-safety: all methods may be called concurrently from any thread.
// The destructor shuts the queue down and joins its timer thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "operator/workqueue/rate_limiter.h"

namespace ember::workqueue {

// Optional hooks for metrics; each is called outside the queue's lock.
struct QueueObserver {
  // A key handed to a worker, and how long it waited since it became ready.
  std::function<void(double wait_seconds)> on_get;
  // A key made ready (not counting one that was already waiting).
  std::function<void()> on_add;
  // A key requeued through AddRateLimited (a retry).
  std::function<void()> on_retry;
};

class WorkQueue {
 public:
  explicit WorkQueue(RateLimiterOptions rate_limiter = {}, QueueObserver observer = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Add(const std::string& key);
  void AddAfter(const std::string& key, std::chrono::milliseconds delay);
  void AddRateLimited(const std::string& key);
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;

  // Blocks until a key is ready or the queue is shut down and drained
  // (nullopt).
  std::optional<std::string> Get();
  // Marks the end of processing of a key returned by Get().
  void Done(const std::string& key);

  // New adds are ignored from now on; Get() drains what is queued, then
  // returns nullopt. Pending delayed adds are dropped.
  void ShutDown();
  // Shuts down without draining: queued and held-back ("dirty") keys are
  // dropped, Get() returns nullopt at once, and Done() of a key in progress
  // queues nothing. For a controller that lost leadership: another replica
  // owns the objects now, and every extra reconcile races with it.
  void ShutDownNow();
  bool ShuttingDown() const;

  // Keys ready to be handed out (excludes ones being processed or delayed).
  size_t Len() const;

 private:
  using Clock = std::chrono::steady_clock;
  // True when the key became ready (was not already queued).
  bool AddLocked(const std::string& key);
  void PushLocked(const std::string& key);
  void TimerLoop(std::stop_token stop);

  ItemExponentialRateLimiter limiter_;
  const QueueObserver observer_;
  mutable std::mutex mu_;
  std::condition_variable ready_cv_;
  std::condition_variable_any timer_cv_;
  std::deque<std::string> queue_;
  // When each key in queue_ became ready, for on_get's wait time.
  std::unordered_map<std::string, Clock::time_point> ready_since_;
  std::unordered_set<std::string> dirty_;
  std::unordered_set<std::string> processing_;
  // Delayed keys: when each becomes ready, and a time-ordered index.
  std::unordered_map<std::string, Clock::time_point> waiting_;
  std::multimap<Clock::time_point, std::string> waiting_by_time_;
  bool shutting_down_ = false;
  std::jthread timer_;
};

}  // namespace ember::workqueue
