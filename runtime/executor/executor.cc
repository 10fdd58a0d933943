#include "runtime/executor/executor.h"

#include <algorithm>

namespace ember {

Executor::Executor(Options options, StatusCallback on_status)
    : options_(std::move(options)),
      on_status_(std::move(on_status)),
      store_(options_.local_dir) {
  env_.executor_id = options_.executor_id;
  env_.store = &store_;
  env_.shuffle_client = options_.shuffle_client;
  env_.metrics = options_.metrics;
  const uint32_t threads = std::max<uint32_t>(1, options_.cores);
  workers_.reserve(threads);
  for (uint32_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

Executor::~Executor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  store_.RemoveAll();
}

namespace {
proto::TaskStatus Killed(uint64_t task_id, const std::string& reason) {
  proto::TaskStatus status;
  status.set_task_id(task_id);
  status.set_state(proto::TaskStatus::KILLED);
  status.set_error(reason);
  return status;
}
}  // namespace

void Executor::Launch(proto::TaskDescription task) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (draining_) {
      const std::string reason = drain_reason_;
      lock.unlock();
      on_status_(Killed(task.task_id(), reason));
      return;
    }
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

std::vector<uint64_t> Executor::Drain(std::chrono::milliseconds timeout, const std::string& reason) {
  std::deque<proto::TaskDescription> queued;
  std::unique_lock<std::mutex> lock(mu_);
  draining_ = true;
  drain_reason_ = reason;
  queued.swap(queue_);
  lock.unlock();
  for (const auto& task : queued) on_status_(Killed(task.task_id(), reason));
  lock.lock();
  cv_.wait_for(lock, timeout, [this] { return running_ids_.empty(); });
  return {running_ids_.begin(), running_ids_.end()};
}

void Executor::Kill(uint64_t task_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(queue_, [task_id](const proto::TaskDescription& t) { return t.task_id() == task_id; });
}

uint32_t Executor::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

void Executor::Work() {
  for (;;) {
    proto::TaskDescription task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
      running_ids_.insert(task.task_id());
    }
    proto::TaskStatus status = RunTask(task, env_);
    on_status_(std::move(status));
    {
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
      running_ids_.erase(task.task_id());
    }
    // Drain() waits for the running set to empty, after the status left.
    cv_.notify_all();
  }
}

}  // namespace ember
