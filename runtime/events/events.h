// What happens to an application, as a stream of events: the driver's
// scheduler emits them, the web UI's store folds them into its state, and the
// event log writes them as JSON lines, from which the history server
// rebuilds the same state. docs/ui.md lists them.
//
// Thread-safety: events are values. The scheduler calls a Listener under
// its lock, so its events arrive in the order things happened; the driver
// calls it too (ApplicationStart, ApplicationEnd) from its own thread, so a
// Listener must be thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "ember/status.h"

namespace ember::events {

// Milliseconds since the epoch.
using Millis = int64_t;
Millis NowMillis();

struct ApplicationStart {
  Millis time = 0;
  std::string app_id;
  std::string app_name;
  std::string user;
  std::string master;
  std::string version;
  std::vector<std::pair<std::string, std::string>> conf;  // redacted
};

struct ApplicationEnd {
  Millis time = 0;
  bool succeeded = true;
  std::string error;
};

struct ExecutorAdded {
  Millis time = 0;
  std::string executor_id;
  std::string host_port;
  uint32_t cores = 0;
};

struct ExecutorRemoved {
  Millis time = 0;
  std::string executor_id;
  std::string reason;
};

// One stage of a job, for its graph.
struct StageInfo {
  uint32_t stage_id = 0;
  std::string name;
  uint32_t num_tasks = 0;
  std::vector<uint32_t> parent_ids;
  std::vector<std::string> operations;  // the stage's operators, first to last
  bool reads_shuffle = false;
  bool writes_shuffle = false;
  bool skipped = false;  // its output existed when the job started
};

struct JobStart {
  Millis time = 0;
  uint32_t job_id = 0;
  std::string name;
  std::vector<StageInfo> stages;  // parents first
};

struct JobEnd {
  Millis time = 0;
  uint32_t job_id = 0;
  bool succeeded = true;
  std::string error;
};

struct StageSubmitted {
  Millis time = 0;
  uint32_t stage_id = 0;
  uint32_t num_tasks = 0;  // of this attempt: the partitions still missing
};

struct StageCompleted {
  Millis time = 0;
  uint32_t stage_id = 0;
  bool succeeded = true;
  std::string error;
};

struct TaskStart {
  Millis time = 0;
  uint64_t task_id = 0;
  uint32_t stage_id = 0;
  uint32_t index = 0;    // the partition
  uint32_t attempt = 0;  // of the partition
  std::string executor_id;
};

enum class TaskEndState : uint8_t { kSuccess, kFailed, kKilled };
const char* TaskEndStateName(TaskEndState state);

struct TaskMetrics {
  double run_seconds = 0;  // on the executor
  uint64_t records_in = 0;
  uint64_t records_out = 0;
  uint64_t input_bytes = 0;
  uint64_t output_bytes = 0;
  uint64_t shuffle_read_bytes = 0;
  uint64_t shuffle_write_bytes = 0;
  uint64_t spilled_bytes = 0;
};

struct CachedBlock {
  uint64_t cache_id = 0;
  uint32_t partition = 0;
  uint64_t bytes = 0;
};

struct TaskEnd {
  Millis time = 0;
  uint64_t task_id = 0;
  uint32_t stage_id = 0;
  TaskEndState state = TaskEndState::kSuccess;
  std::string error;
  TaskMetrics metrics;
  std::vector<CachedBlock> cached;  // partitions the task kept (persist)
};

// Every cached partition of one persist() is dropped (unpersist).
struct CacheDropped {
  Millis time = 0;
  uint64_t cache_id = 0;
};

using Event =
    std::variant<ApplicationStart, ApplicationEnd, ExecutorAdded, ExecutorRemoved, JobStart, JobEnd,
                 StageSubmitted, StageCompleted, TaskStart, TaskEnd, CacheDropped>;

class Listener {
 public:
  virtual ~Listener() = default;
  virtual void OnEvent(const Event& event) = 0;
};

// Hands each event to several listeners, in order.
class ListenerList : public Listener {
 public:
  void Add(Listener* listener) { listeners_.push_back(listener); }
  void OnEvent(const Event& event) override {
    for (Listener* l : listeners_) l->OnEvent(event);
  }
  bool empty() const { return listeners_.empty(); }

 private:
  std::vector<Listener*> listeners_;
};

// One JSON object per event, with its kind in "event".
nlohmann::json ToJson(const Event& event);
// INVALID_ARGUMENT naming the field when `json` is not an event.
Result<Event> FromJson(const nlohmann::json& json);

// Whether a conf key names a secret, whose value is shown redacted.
bool IsSecretKey(const std::string& key);
inline constexpr const char* kRedacted = "*********(redacted)";

}  // namespace ember::events
