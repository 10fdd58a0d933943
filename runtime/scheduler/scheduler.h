// The driver's scheduler: runs jobs as stages of tasks on executor cores.
//
// Scheduling is level-based and incremental. What is known (which shuffle
// outputs exist, which result partitions are done, which attempts run
// where) is kept as per-stage state that each event updates in time
// proportional to what it changes: a finished task, a lost executor's
// outputs, a stage whose inputs just completed. No turn rescans the job, so
// a task costs the same in a job of 100 tasks and of 100,000. A lost
// executor or a failed fetch only removes outputs; the partitions that need
// them become pending again and run once their inputs exist. Shuffle
// outputs outlive jobs, so a later job reuses every complete shuffle.
//
// Attempts. Every launch has a unique task id (the attempt id); every stage
// run has an attempt number, bumped when a fetch failure resubmits it; every
// recorded map output has an epoch, bumped whenever outputs are lost. A
// status from an attempt that no longer counts (unknown id, another
// executor, a killed attempt) and a FETCH_FAILED about an output of an
// older epoch are ignored. When a job fails, when a stage is resubmitted and
// when an executor is lost, the attempts that no longer count are killed,
// and a failed job waits (briefly) for its killed attempts to stop before
// it returns, so none keeps a core or writes output afterwards.
//
// Output commit. A task attempt that writes final output asks CanCommit
// first; exactly one attempt per partition is allowed, so retries and
// zombies never overwrite a committed part file. Permission moves to
// another attempt only when the permitted one is known to be gone.
//
// One task runs on one core; an executor also holds up to
// prefetch_per_core more per core in its queue while all its cores are
// busy. Task failures are retried up to
// max_task_failures attempts per partition; fetch failures re-run the lost
// map outputs and do not count against the task; KILLED attempts (handed
// back by an executor shutting down) run again without counting.
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
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ember/graph.h"
#include "ember/status.h"
#include "runtime/events/events.h"
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
  // Asks the executor to stop a task attempt; best effort.
  virtual void Kill(uint64_t task_id) = 0;
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
    // How long a failed job waits for its killed attempts to stop.
    std::chrono::milliseconds kill_grace{std::chrono::seconds(10)};
    // How long a task that reads a cached partition waits for a slot on an
    // executor that keeps it, before it runs elsewhere (and recomputes it).
    std::chrono::milliseconds locality_wait{std::chrono::seconds(3)};
    // The results of one job held at once, summed over its tasks; 0 is no
    // limit. Past it the job fails (spark.driver.maxResultSize).
    uint64_t max_result_bytes = 0;
    // At most this many tasks per core wait in an executor's queue beyond
    // the one running, so that the round trip of a launch does not leave a
    // core idle. How many are used adapts to how long tasks take: enough for
    // about queued_work_per_core of work (none for tasks longer than that,
    // more for tiny ones). Queues fill only once every core is busy.
    uint32_t max_prefetch_per_core = 32;
    std::chrono::microseconds queued_work_per_core{2000};
    Metrics* metrics = nullptr;
    // Called, under the scheduler's lock, with each successful status the
    // scheduler counts: the first success of a result partition, or one that
    // records a map output. Where accumulator updates are applied.
    std::function<void(const proto::TaskStatus&)> on_counted_success;
    // Told, under the scheduler's lock and in order, of every job, stage,
    // task and executor event (the web UI and the event log); may be null.
    events::Listener* listener = nullptr;
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
  // Whether attempt `task_id`, running on `executor_id`, may make its output
  // final; true for at most one attempt per partition. On false, *reason
  // says why.
  bool CanCommit(const std::string& executor_id, uint64_t task_id, std::string* reason);
  // Fails the running job and every later one with `why`: no executor can
  // ever come back (e.g. every local-cluster process has died).
  void Abort(const Status& why);
  // Forgets the outputs of a shuffle that no RDD can read any more.
  void ForgetShuffle(uint32_t shuffle_id);
  // Forgets where the partitions of a cache (persist) are kept.
  void ForgetCache(uint64_t cache_id);
  // The executors that hold cached partition (cache_id, partition).
  std::vector<std::string> CacheHolders(uint64_t cache_id, uint32_t partition) const;

  // Waits until `count` executors are registered. DEADLINE_EXCEEDED after
  // `timeout`.
  Status WaitForExecutors(size_t count, std::chrono::milliseconds timeout);
  size_t num_executors() const;
  uint32_t total_cores() const;

  // `on_start`, when set, hears the job's id (the one the listener's events
  // carry) once the job has its turn.
  Status RunJob(const std::shared_ptr<const internal::Node>& top, const internal::ResultSpec& sink,
                const std::vector<uint32_t>& partitions,
                const std::function<Status(uint32_t, std::string&&)>& on_result,
                const std::function<void(uint32_t)>& on_start = {});

  // The stages of the running job, for progress display.
  std::vector<StageProgress> Progress() const;

 private:
  struct ExecutorState {
    std::string address;
    uint32_t cores = 0;
    uint32_t slots = 0;    // cores plus prefetch
    uint32_t running = 0;  // attempts sent there and not finished
    bool draining = false;
    // A launch failed: the executor is going away; nothing more goes there.
    bool unreachable = false;
    std::shared_ptr<ExecutorBackend> backend;
    std::unordered_set<uint64_t> tasks;  // attempts running there
    uint32_t free() const {
      return draining || unreachable || running >= slots ? 0 : slots - running;
    }
    // Cores with nothing to do: these are filled before any queue.
    uint32_t idle() const { return free() == 0 || running >= cores ? 0 : cores - running; }
  };
  struct ShuffleState {
    uint32_t stage_id = 0;
    std::vector<std::optional<MapOutput>> outputs;
    uint32_t available = 0;
    // What tasks carry about this shuffle; rebuilt after outputs change.
    std::optional<proto::ShuffleLocations> locations;
    bool complete() const { return available == outputs.size(); }
  };
  enum class PartState : uint8_t { kWaiting, kRunning, kDone };
  struct Stage {
    uint32_t id = 0;
    uint32_t attempt = 0;
    StagePlan plan;
    std::vector<uint32_t> partitions;                // what this job computes, by slot
    std::unordered_map<uint32_t, uint32_t> slot_of;  // partition -> slot
    std::vector<PartState> state;                    // by slot
    std::vector<uint32_t> failures;                  // by slot: failed attempts
    std::vector<uint32_t> launches;                  // by slot: attempts launched, for the UI
    std::deque<uint32_t> ready;  // slots waiting to launch (may hold stale entries)
    std::vector<bool> queued;    // by slot: in `ready`
    uint32_t done = 0;
    uint32_t running = 0;
    uint32_t fetch_failures = 0;                  // distinct output losses this stage tripped over
    std::vector<size_t> readers;                  // stages that read this stage's output
    std::vector<uint32_t> inputs;                 // shuffle ids this stage reads
    std::optional<proto::TaskDescription> shape;  // DescribeStage, built once
    std::vector<uint64_t> cache_ids;              // of the stage's persist nodes
    // By slot: since when it waits for a core where its cached partition is.
    std::unordered_map<uint32_t, std::chrono::steady_clock::time_point> waiting_since;
    // Submitted and not yet completed, as the listener was told.
    bool open = false;
  };
  struct RunningTask {
    size_t stage = 0;  // index into the job's stages, or kNoStage once the job ended
    uint32_t slot = 0;
    uint32_t stage_id = 0;
    uint32_t stage_attempt = 0;
    std::string executor_id;
    bool may_commit = false;
  };
  struct Job {
    std::vector<Stage> stages;                              // parents first; the result stage last
    std::unordered_map<uint32_t, size_t> stage_of_shuffle;  // shuffle id -> writing stage
    std::deque<std::pair<uint32_t, std::string>> results;   // to hand to the caller
    internal::ResultSpec sink;
    uint64_t result_bytes = 0;
    Status failure;
  };

  // Event handlers; all require mu_.
  void HandleStatus(Job& job, uint64_t task_id, const RunningTask& task, proto::TaskStatus& status);
  enum class Queue { kFront, kBack };
  void MarkReady(Stage& stage, uint32_t slot, Queue where = Queue::kFront);
  void OutputLost(uint32_t shuffle_id, uint32_t map);
  void ForgetOutputsOf(const std::string& executor_id);
  void DropExecutorLocked(const std::string& id, const Status& why);
  bool InputsComplete(const Stage& stage) const;
  void LaunchReady(Job& job);
  bool LaunchOne(Job& job, Stage& stage, uint32_t slot);
  // The executor with the most room, or, when one of `preferred` has a
  // free slot, that one.
  ExecutorState* PickExecutor(std::string* id, const std::vector<std::string>& preferred = {});
  // Executors holding a cached partition the task of `slot` reads.
  std::vector<std::string> PreferredFor(const Stage& stage, uint32_t slot) const;
  // Whether the task of `slot` should wait for a slot where its cached
  // partition is, rather than run elsewhere now.
  bool WaitForLocality(Stage& stage, uint32_t slot);
  void TakeCore(const std::string& id, ExecutorState& e, uint64_t task_id);
  void FreeCore(const std::string& id, uint64_t task_id);
  void KillAttempt(uint64_t task_id);
  // Folds a finished task's duration into the estimate behind the prefetch
  // depth, and resizes every executor's queue when the depth changes.
  void ObserveDuration(double seconds);
  void KillStage(Job& job, size_t stage);
  void KillJob(Job& job);
  const proto::ShuffleLocations& Locations(uint32_t shuffle_id);
  bool JobDone(const Job& job) const;
  // Listener events; all require mu_ and do nothing without a listener.
  void Emit(events::Event&& event) {
    if (options_.listener != nullptr) options_.listener->OnEvent(event);
  }
  void EmitStageEnd(Stage& stage, const Status& why);
  void EmitTaskEnd(uint64_t task_id, uint32_t stage_id, bool counts,
                   const proto::TaskStatus& status);

  Options options_;
  std::mutex job_mu_;  // held for a whole RunJob: one job at a time
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, ExecutorState> executors_;
  // Executors that can take a task: most idle cores first, then most free
  // queue slots, then by id; for picking in O(log E).
  using FreeKey = std::tuple<uint32_t, uint32_t, std::string>;  // idle, free, id
  struct MostFreeFirst {
    bool operator()(const FreeKey& a, const FreeKey& b) const {
      if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
      if (std::get<1>(a) != std::get<1>(b)) return std::get<1>(a) > std::get<1>(b);
      return std::get<2>(a) < std::get<2>(b);
    }
  };
  std::set<FreeKey, MostFreeFirst> by_free_;
  void Unindex(const std::string& id, const ExecutorState& e);
  void Index(const std::string& id, const ExecutorState& e);
  std::unordered_map<uint32_t, ShuffleState> shuffles_;
  // What each executor holds: (shuffle, map) pairs, for losing them at once.
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> outputs_of_;
  // Cached partitions: (cache id, partition) -> the executors holding it,
  // and what each executor holds, for losing it at once.
  std::map<std::pair<uint64_t, uint32_t>, std::set<std::string>> cached_;
  std::unordered_map<std::string, std::vector<std::pair<uint64_t, uint32_t>>> cached_of_;
  std::unordered_map<uint64_t, RunningTask> running_;
  std::deque<std::pair<std::string, proto::TaskStatus>> inbox_;
  // Partitions of the running result stage that have permission to commit:
  // slot -> attempt.
  std::unordered_map<uint32_t, uint64_t> committers_;
  Job* job_ = nullptr;  // the running job
  Status abort_;
  uint64_t epoch_ = 0;
  double mean_task_seconds_ = 0;  // moving average; 0 until a task finished
  uint32_t prefetch_ = 0;         // tasks queued per core beyond the running one
  uint64_t next_task_id_ = 1;
  uint32_t next_stage_id_ = 0;
  uint32_t next_job_id_ = 0;
  std::chrono::steady_clock::time_point last_executor_seen_;
};

}  // namespace ember::scheduler
