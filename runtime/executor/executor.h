// An executor's task slots: a pool of one thread per core running task
// descriptions, plus the executor's shuffle store.
//
// Used two ways: inside ember-executor (fed by the driver stream) and inside
// the driver process for local[N] mode (fed directly by the scheduler).
//
// Thread-safety: all public methods may be called from any thread. The
// status callback runs on the task's worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/executor/block_store.h"
#include "runtime/executor/memory_budget.h"
#include "runtime/executor/task_runner.h"
#include "runtime/proto/ember.pb.h"
#include "runtime/shuffle/shuffle_store.h"

namespace ember {

class Executor {
 public:
  struct Options {
    std::string executor_id;
    uint32_t cores = 1;
    std::string local_dir;  // shuffle files and cached partitions on disk go below it
    transport::ShuffleClient* shuffle_client = nullptr;
    Metrics* metrics = nullptr;
    // Memory for task data before operators spill (MemoryBudget); 0: no limit.
    uint64_t memory_budget = 0;
    // See TaskEnvironment::can_commit.
    std::function<bool(uint64_t task_id, std::string* reason)> can_commit;
  };
  using StatusCallback = std::function<void(proto::TaskStatus)>;

  Executor(Options options, StatusCallback on_status);
  // Abandons queued tasks, waits for running ones, removes shuffle files.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues a task; once draining, hands it straight back as KILLED.
  void Launch(proto::TaskDescription task);
  // Stops taking tasks: queued ones are handed back as KILLED at once,
  // running ones get until `timeout` to finish (their statuses go out as
  // usual). Returns the ids of tasks still running at the deadline, which
  // the caller reports as KILLED (a task cannot be interrupted mid-batch).
  std::vector<uint64_t> Drain(std::chrono::milliseconds timeout, const std::string& reason);
  // Stops a task: a queued one is dropped (and reported KILLED), a running
  // one stops at its next check and reports KILLED.
  void Kill(uint64_t task_id);
  // Shuffle fetch settings (from the driver's configuration); call before
  // the first Launch.
  void SetFetchOptions(const FetchOptions& options) { env_.fetch = options; }
  uint32_t running() const;
  shuffle::ShuffleStore& store() { return store_; }
  BlockStore& blocks() { return blocks_; }
  const MemoryBudget& memory() const { return memory_; }

 private:
  void Work();

  Options options_;
  StatusCallback on_status_;
  shuffle::ShuffleStore store_;
  MemoryBudget memory_;  // before blocks_, which holds claims on it
  BlockStore blocks_;
  TaskEnvironment env_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<proto::TaskDescription> queue_;  // guarded by mu_
  uint32_t running_ = 0;                      // guarded by mu_
  // Running tasks and the flags that tell them to stop.
  std::map<uint64_t, std::shared_ptr<std::atomic<bool>>> running_ids_;  // guarded by mu_
  bool stopping_ = false;                                               // guarded by mu_
  bool draining_ = false;                                               // guarded by mu_
  std::string drain_reason_;                                            // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace ember
