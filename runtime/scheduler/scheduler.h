// The driver's scheduler: runs jobs as stages of tasks on executor cores.
//
// Scheduling is level-based. On every turn the job loop looks at what is
// known (which shuffle outputs exist, which result partitions are done,
// which tasks run where) and decides what to launch; it never relies on
// having seen a particular event. A lost executor or a failed fetch only
// removes outputs; the next turn sees them missing and recomputes them.
// Shuffle outputs outlive jobs, so a later job reuses every shuffle that is
// already complete.
//
// One task occupies one core. Task failures are retried up to
// max_task_failures attempts per partition; fetch failures re-run the lost
// map outputs and do not count against the task.
//
// Thread-safety: all public methods are thread-safe. RunJob blocks its
// caller; concurrent RunJob calls are serialised.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "ember/graph.h"
#include "runtime/proto/ember.pb.h"
#include "runtime/scheduler/stage_plan.h"

namespace ember {
class Metrics;
}

namespace ember::scheduler {

// How the scheduler reaches one executor.
class ExecutorBackend {
 public:
  virtual ~ExecutorBackend() = default;
  // Hands a task to the executor; false when it is gone.
  virtual bool Launch(const proto::TaskDescription& task) = 0;
};

struct StageProgress {
  uint32_t stage_id = 0;
  std::string name;
  uint32_t total = 0;
  uint32_t done = 0;
  uint32_t running = 0;
};

class Scheduler {
 public:
  struct Options {
    uint32_t max_task_failures = 4;
    uint32_t max_fetch_failures = 4;  // per stage and job
    // A job fails when no executor has been registered for this long.
    std::chrono::milliseconds no_executor_timeout{std::chrono::seconds(60)};
    Metrics* metrics = nullptr;
  };

  explicit Scheduler(Options options);

  void AddExecutor(const std::string& id, const std::string& shuffle_address, uint32_t cores,
                   std::shared_ptr<ExecutorBackend> backend);
  // The executor is gone: tasks running there are rescheduled elsewhere and
  // the shuffle outputs it held are forgotten. With `backend`, only if that
  // is still the executor registered under `id`.
  void RemoveExecutor(const std::string& id, const Status& why,
                      const ExecutorBackend* backend = nullptr);
  // The executor is shutting down: nothing more is launched there, and its
  // cores no longer count. Tasks running there finish or come back KILLED.
  void Decommission(const std::string& id, const std::string& reason);
  void OnTaskStatus(const std::string& executor_id, proto::TaskStatus status);
  // Fails the running job and every later one with `why`: no executor can
  // ever come back (e.g. every local-cluster process has died).
  void Abort(const Status& why);

  // Waits until `count` executors are registered. DEADLINE_EXCEEDED after
  // `timeout`.
  Status WaitForExecutors(size_t count, std::chrono::milliseconds timeout);
  size_t num_executors() const;
  uint32_t total_cores() const;

  Status RunJob(const std::shared_ptr<const internal::Node>& top, const internal::ResultSpec& sink,
                const std::vector<uint32_t>& partitions,
                const std::function<Status(uint32_t, std::string&&)>& on_result);

  // The stages of the running job, for progress display.
  std::vector<StageProgress> Progress() const;

 private:
  struct ExecutorState {
    std::string address;
    uint32_t cores = 0;
    uint32_t running = 0;
    bool draining = false;
    std::shared_ptr<ExecutorBackend> backend;
  };
  struct ShuffleState {
    uint32_t stage_id = 0;
    std::vector<std::optional<MapOutput>> outputs;
    bool complete() const;
  };
  struct Stage {
    uint32_t id = 0;
    StagePlan plan;
    std::vector<uint32_t> partitions;   // what this job needs computed
    std::map<uint32_t, uint32_t> failures;  // partition -> failed attempts
    uint32_t fetch_failures = 0;  // distinct executor losses seen by this stage
  };
  struct RunningTask {
    size_t stage_index = 0;
    uint32_t partition = 0;
    std::string executor_id;
  };
  struct Job {
    std::vector<Stage> stages;  // parents first; the result stage last
    std::vector<bool> result_done;  // indexed like stages.back().partitions
    std::map<uint32_t, size_t> result_slot;  // partition -> index in partitions
    std::deque<std::pair<uint32_t, std::string>> results;  // to hand to the caller
    std::deque<std::pair<size_t, uint32_t>> pending;  // (stage, partition)
    std::set<std::pair<size_t, uint32_t>> in_flight;   // pending or running
    internal::ResultSpec sink;
    Status failure;
  };

  void Schedule(Job& job);  // requires mu_
  bool InputsComplete(const StagePlan& plan) const;  // requires mu_
  void ForgetOutputsOf(const std::string& executor_id);  // requires mu_
  void DropExecutorLocked(const std::string& id, const Status& why);  // requires mu_
  bool NeedsRun(const Job& job, size_t stage_index, uint32_t partition) const;  // requires mu_
  void LaunchPending(Job& job);  // requires mu_
  void HandleStatus(Job& job, const RunningTask& task, proto::TaskStatus& status);
  std::map<uint32_t, std::vector<MapOutput>> CompleteOutputs(const StagePlan& plan) const;

  Options options_;
  std::mutex job_mu_;  // held for a whole RunJob: one job at a time
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, ExecutorState> executors_;
  std::map<uint32_t, ShuffleState> shuffles_;
  std::map<uint64_t, RunningTask> running_;
  std::deque<std::pair<std::string, proto::TaskStatus>> inbox_;
  Job* job_ = nullptr;  // the running job, for Progress()
  Status abort_;
  uint64_t next_task_id_ = 1;
  uint32_t next_stage_id_ = 0;
  std::chrono::steady_clock::time_point last_executor_seen_;
};

}  // namespace ember::scheduler
