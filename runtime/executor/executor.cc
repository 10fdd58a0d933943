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

void Executor::Launch(proto::TaskDescription task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
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
    }
    proto::TaskStatus status = RunTask(task, env_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
    }
    on_status_(std::move(status));
  }
}

}  // namespace ember
