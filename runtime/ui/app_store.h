// What the web UI and the REST API know about one application, folded from
// its events (live from the scheduler, or replayed from an event log), and
// its answers in the JSON shapes of docs/ui.md.
//
// Memory is bounded: running jobs, stages and tasks are kept whole; of
// finished ones only the newest `Limits` are kept, and the rest are counted.
//
// Thread-safety: all methods are thread-safe; every answer is built under
// one lock, so it is a consistent snapshot.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/events/events.h"

namespace ember::ui {

// "2026-12-06T09:10:11.123GMT", as Spark's REST API writes times.
std::string FormatTime(events::Millis millis);

class AppStore : public events::Listener {
 public:
  struct Limits {
    size_t retained_jobs = 1000;
    size_t retained_stages = 1000;  // finished stage attempts
    size_t retained_tasks = 1000;   // finished tasks per stage attempt
  };
  explicit AppStore(Limits limits);

  void OnEvent(const events::Event& event) override;

  std::string app_id() const;
  bool completed() const;

  using json = nlohmann::json;
  // The answers. Result errors are NOT_FOUND naming what is unknown, or
  // INVALID_ARGUMENT naming the bad parameter.
  json Application() const;
  Result<json> Jobs(const std::string& status_filter) const;  // "" for all
  Result<json> Job(uint32_t job_id) const;
  Result<json> Stages(const std::string& status_filter) const;
  Result<json> StageAttempts(uint32_t stage_id) const;
  Result<json> StageAttempt(uint32_t stage_id, uint32_t attempt) const;
  Result<json> TaskSummary(uint32_t stage_id, uint32_t attempt,
                           const std::vector<double>& quantiles) const;
  Result<json> TaskList(uint32_t stage_id, uint32_t attempt, size_t offset, size_t length) const;
  json Executors(bool include_dead) const;
  json Environment() const;

 private:
  enum class JobStatus { kRunning, kSucceeded, kFailed };
  enum class StageStatus { kPending, kActive, kComplete, kFailed, kSkipped };
  enum class TaskStatus { kRunning, kSuccess, kFailed, kKilled };
  struct Task {
    uint64_t id = 0;
    uint32_t index = 0;
    uint32_t attempt = 0;
    std::string executor_id;
    events::Millis launch = 0;
    events::Millis end = 0;
    TaskStatus status = TaskStatus::kRunning;
    std::string error;
    events::TaskMetrics metrics;
  };
  struct Stage {
    uint32_t id = 0;
    uint32_t attempt = 0;
    std::string name;
    StageStatus status = StageStatus::kPending;
    uint32_t num_tasks = 0;
    uint32_t active = 0, complete = 0, failed = 0, killed = 0;
    events::Millis submitted = 0, first_launch = 0, completed = 0;
    std::string error;
    events::TaskMetrics sums;  // of successful tasks
    std::vector<uint32_t> parent_ids;
    std::set<uint32_t> job_ids;
    bool reads_shuffle = false;
    bool writes_shuffle = false;
    std::map<uint64_t, Task> tasks;
    std::deque<uint64_t> finished;  // retained finished tasks, oldest first
    uint64_t dropped_tasks = 0;
    // Partitions that succeeded, counted once however many attempts did;
    // the set is let go when the attempt ends.
    std::vector<bool> done_indices;  // by partition
    uint32_t completed_indices = 0;
  };
  using StageKey = std::pair<uint32_t, uint32_t>;  // id, attempt
  struct JobRecord {
    uint32_t id = 0;
    std::string name;
    JobStatus status = JobStatus::kRunning;
    events::Millis submitted = 0, completed = 0;
    std::string error;
    std::vector<events::StageInfo> dag;
    uint32_t num_tasks = 0, skipped_tasks = 0;
    uint32_t active = 0, complete = 0, failed = 0, killed = 0;
    uint32_t completed_stages = 0, failed_stages = 0, skipped_stages = 0;
    std::set<StageKey> stages;  // attempts run for this job
    // Stage id -> by partition, whether it succeeded; let go when the job
    // ends.
    std::unordered_map<uint32_t, std::vector<bool>> done_indices;
    uint32_t completed_indices = 0;
  };
  struct Executor {
    std::string id;
    std::string host_port;
    uint32_t cores = 0;
    bool active = true;
    events::Millis added = 0, removed = 0;
    std::string reason;
    uint32_t running = 0, complete = 0, failed = 0, killed = 0;
    double task_seconds = 0;
    uint64_t input_bytes = 0, shuffle_read = 0, shuffle_write = 0, spilled = 0;
    std::map<std::pair<uint64_t, uint32_t>, uint64_t> cached;
  };
  struct RunningTask {
    StageKey stage;
    uint32_t index = 0;
    uint32_t job_id = 0;
    std::string executor_id;
  };

  void Apply(const events::ApplicationStart& e);
  void Apply(const events::ApplicationEnd& e);
  void Apply(const events::ExecutorAdded& e);
  void Apply(const events::ExecutorRemoved& e);
  void Apply(const events::JobStart& e);
  void Apply(const events::JobEnd& e);
  void Apply(const events::StageSubmitted& e);
  void Apply(const events::StageCompleted& e);
  void Apply(const events::TaskStart& e);
  void Apply(const events::TaskEnd& e);
  void Apply(const events::CacheDropped& e);
  // Ends a running task that will hear nothing more (its job or the
  // application ended).
  void EndTask(uint64_t task_id, TaskStatus status, const std::string& error,
               const events::TaskMetrics& metrics, events::Millis time);
  void StageFinished(const StageKey& key);
  // The number the next attempt of `stage_id` gets: never one used before,
  // even when that attempt was dropped by retention.
  uint32_t NextAttempt(uint32_t stage_id) const;
  // Ends every job and stage still open (the application or its log ended).
  void CloseOpenJobs(events::Millis time, const std::string& why);
  json JobJson(const JobRecord& j) const;
  void JobFinished(uint32_t job_id);
  Stage* LatestAttempt(uint32_t stage_id);
  json StageJson(const Stage& s, bool with_tasks) const;
  json TaskJson(const Stage& s, const Task& t) const;
  json SummaryJson(const Stage& s, const std::vector<double>& quantiles) const;
  Result<const Stage*> FindStage(uint32_t stage_id, uint32_t attempt) const;

  const Limits limits_;
  mutable std::mutex mu_;
  std::string app_id_, app_name_, user_, master_, version_;
  std::vector<std::pair<std::string, std::string>> conf_;
  events::Millis started_ = 0, ended_ = 0, last_updated_ = 0;
  bool completed_ = false;
  bool succeeded_ = false;
  std::string app_error_;
  std::map<uint32_t, JobRecord> jobs_;
  std::deque<uint32_t> finished_jobs_;  // oldest first
  uint64_t dropped_jobs_ = 0;
  std::map<StageKey, Stage> stages_;
  std::map<uint32_t, uint32_t> latest_attempt_;  // stage id -> attempt
  std::deque<StageKey> finished_stages_;         // oldest first
  uint64_t dropped_stages_ = 0;
  std::map<std::string, Executor> executors_;
  std::unordered_map<uint64_t, RunningTask> running_;
  std::optional<uint32_t> current_job_;
};

}  // namespace ember::ui
