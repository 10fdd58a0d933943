#include "runtime/executor/executor.h"

#include "runtime/metrics/metrics.h"

#include <algorithm>

namespace ember {

namespace {
proto::TaskStatus Killed(uint64_t task_id, const std::string& reason) {
  proto::TaskStatus status;
  status.set_task_id(task_id);
  status.set_state(proto::TaskStatus::KILLED);
  status.set_error(reason);
  return status;
}
}  // namespace

Executor::Executor(Options options, StatusCallback on_status)
    : options_(std::move(options)),
      on_status_(std::move(on_status)),
      store_(options_.local_dir),
      memory_(options_.memory_budget, options_.metrics),
      blocks_(options_.local_dir.empty() ? std::string() : options_.local_dir + "/blocks",
              &memory_) {
  env_.executor_id = options_.executor_id;
  env_.memory = &memory_;
  if (!options_.local_dir.empty()) env_.spill_dir = options_.local_dir + "/spill";
  env_.store = &store_;
  env_.blocks = &blocks_;
  env_.shuffle_client = options_.shuffle_client;
  env_.metrics = options_.metrics;
  env_.can_commit = options_.can_commit;
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

std::vector<uint64_t> Executor::Drain(std::chrono::milliseconds timeout,
                                      const std::string& reason) {
  std::deque<proto::TaskDescription> queued;
  std::unique_lock<std::mutex> lock(mu_);
  draining_ = true;
  drain_reason_ = reason;
  queued.swap(queue_);
  lock.unlock();
  for (const auto& task : queued) on_status_(Killed(task.task_id(), reason));
  lock.lock();
  cv_.wait_for(lock, timeout, [this] { return running_ids_.empty(); });
  std::vector<uint64_t> ids;
  for (const auto& [id, flag] : running_ids_) {
    flag->store(true);  // they are handed back; stop them too
    ids.push_back(id);
  }
  return ids;
}

void Executor::Kill(uint64_t task_id) {
  bool dropped = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dropped = std::erase_if(queue_, [task_id](const proto::TaskDescription& t) {
                return t.task_id() == task_id;
              }) > 0;
    auto it = running_ids_.find(task_id);
    if (it != running_ids_.end()) it->second->store(true);
  }
  if (dropped) on_status_(Killed(task_id, "killed before it started"));
}

uint32_t Executor::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

void Executor::Work() {
  for (;;) {
    proto::TaskDescription task;
    std::shared_ptr<std::atomic<bool>> cancelled;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
      cancelled = std::make_shared<std::atomic<bool>>(false);
      running_ids_[task.task_id()] = cancelled;
    }
    if (options_.metrics) options_.metrics->tasks_running->Increment();
    proto::TaskStatus status = RunTask(task, env_, cancelled.get());
    if (options_.metrics) options_.metrics->tasks_running->Decrement();
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
