#include "operator/workqueue/workqueue.h"

namespace ember::workqueue {

WorkQueue::WorkQueue(RateLimiterOptions rate_limiter, QueueObserver observer)
    : limiter_(rate_limiter),
      observer_(std::move(observer)),
      timer_([this](std::stop_token stop) { TimerLoop(stop); }) {}

WorkQueue::~WorkQueue() {
  ShutDown();
  timer_.request_stop();
  timer_.join();
}

void WorkQueue::PushLocked(const std::string& key) {
  queue_.push_back(key);
  ready_since_[key] = Clock::now();
  ready_cv_.notify_one();
}

bool WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_ || dirty_.count(key) > 0) return false;
  dirty_.insert(key);
  // Re-queued by Done() instead, so that it never runs on two workers.
  if (processing_.count(key) > 0) return true;
  PushLocked(key);
  return true;
}

void WorkQueue::Add(const std::string& key) {
  bool added;
  {
    std::lock_guard<std::mutex> lock(mu_);
    added = AddLocked(key);
  }
  if (added && observer_.on_add) observer_.on_add();
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::milliseconds delay) {
  if (delay.count() <= 0) {
    Add(key);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  const Clock::time_point when = Clock::now() + delay;
  auto it = waiting_.find(key);
  if (it != waiting_.end()) {
    if (it->second <= when) return;  // an earlier add already covers this one
    auto range = waiting_by_time_.equal_range(it->second);
    for (auto entry = range.first; entry != range.second; ++entry) {
      if (entry->second == key) {
        waiting_by_time_.erase(entry);
        break;
      }
    }
    it->second = when;
  } else {
    waiting_.emplace(key, when);
  }
  waiting_by_time_.emplace(when, key);
  timer_cv_.notify_one();
}

void WorkQueue::AddRateLimited(const std::string& key) {
  if (observer_.on_retry) observer_.on_retry();
  AddAfter(key, limiter_.When(key));
}

void WorkQueue::Forget(const std::string& key) {
  limiter_.Forget(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  return limiter_.NumRequeues(key);
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  ready_cv_.wait(lock, [this] { return !queue_.empty() || shutting_down_; });
  if (queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  double waited = 0;
  if (auto it = ready_since_.find(key); it != ready_since_.end()) {
    waited = std::chrono::duration<double>(Clock::now() - it->second).count();
    ready_since_.erase(it);
  }
  lock.unlock();
  if (observer_.on_get) observer_.on_get(waited);
  return key;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key) > 0) PushLocked(key);
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  waiting_.clear();
  waiting_by_time_.clear();
  ready_cv_.notify_all();
  timer_cv_.notify_all();
}

void WorkQueue::ShutDownNow() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  queue_.clear();
  ready_since_.clear();
  // No adds are accepted from now on, so with the dirty set empty Done()
  // has nothing to queue again.
  dirty_.clear();
  waiting_.clear();
  waiting_by_time_.clear();
  ready_cv_.notify_all();
  timer_cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void WorkQueue::TimerLoop(std::stop_token stop) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop.stop_requested()) {
    const Clock::time_point now = Clock::now();
    while (!waiting_by_time_.empty() && waiting_by_time_.begin()->first <= now) {
      std::string key = std::move(waiting_by_time_.begin()->second);
      waiting_by_time_.erase(waiting_by_time_.begin());
      waiting_.erase(key);
      if (AddLocked(key) && observer_.on_add) {
        // The hook runs outside the lock, as promised.
        lock.unlock();
        observer_.on_add();
        lock.lock();
      }
    }
    if (waiting_by_time_.empty()) {
      timer_cv_.wait(lock, stop, [this] { return !waiting_by_time_.empty(); });
    } else {
      const Clock::time_point next = waiting_by_time_.begin()->first;
      timer_cv_.wait_until(lock, stop, next, [this, next] {
        return !waiting_by_time_.empty() && waiting_by_time_.begin()->first < next;
      });
    }
  }
}

}  // namespace ember::workqueue
