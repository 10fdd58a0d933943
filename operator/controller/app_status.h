// The SparkApplication's status: its state machine's states, the standard
// conditions derived from them, and the JSON the status subresource holds.
//
// The status is bounded whatever happens: executors are counts plus the ids
// expected to exist (at most executor.instances), and only the last
// kMaxRecentFailures executor failures are kept with their reasons. (The
// Kubeflow operator's map of every executor outgrew etcd's object limit.)
//
// Times are whole seconds, as metav1.Time; two statuses are the same when
// their JSON is.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ember::sparkapp {

using TimePoint = std::chrono::system_clock::time_point;

enum class AppState {
  kNew,
  kSubmitted,
  kRunning,
  kSucceeding,
  kCompleted,
  kFailing,
  kFailed,
  kSubmissionFailed,
  kPendingRerun,
  kInvalidating,
  kSuspending,
  kSuspended,
};

inline constexpr size_t kMaxRecentFailures = 5;

std::string_view StateName(AppState state);
std::optional<AppState> ParseState(std::string_view name);
// COMPLETED, FAILED and SUBMISSION_FAILED: nothing runs and nothing will,
// unless the spec changes.
bool IsTerminal(AppState state);

struct Condition {
  std::string type;
  std::string status;  // "True" | "False"
  std::string reason;
  std::string message;
  std::optional<TimePoint> last_transition_time;
  int64_t observed_generation = 0;
};

struct ExecutorFailure {
  int executor_id = 0;
  std::string pod_name;
  std::string pod_uid;
  std::string reason;
  std::string message;
  std::optional<int> exit_code;
  std::optional<TimePoint> time;
};

struct ExecutorCounts {
  int requested = 0;
  int pending = 0;
  int running = 0;
  int succeeded = 0;
  int failed = 0;
  int next_id = 1;
  std::vector<int> active;
};

struct DriverInfo {
  std::string pod_name;
  std::string service_name;
  std::string web_ui_address;
  std::string pod_ip;
};

struct AppStatus {
  AppState state = AppState::kNew;
  std::string reason;
  std::string error_message;
  std::optional<TimePoint> last_transition_time;
  std::vector<Condition> conditions;
  int64_t observed_generation = 0;
  std::string spec_hash;
  std::string submission_id;
  DriverInfo driver;
  ExecutorCounts executors;
  std::vector<ExecutorFailure> recent_failures;  // oldest first
  int submission_attempts = 0;
  int execution_attempts = 0;
  std::optional<TimePoint> last_submission_attempt_time;
  std::optional<TimePoint> driver_start_time;
  std::optional<TimePoint> termination_time;

  nlohmann::json ToJson() const;
  // Tolerant: missing or malformed fields keep their defaults, an unknown
  // state reads as NEW.
  static AppStatus FromJson(const nlohmann::json& status);

  // Moves to `state` with a reason and message, stamping the transition
  // time when the state changes.
  void Transition(AppState to, std::string reason, std::string message, TimePoint now);
  // Records an executor failure, keeping the last kMaxRecentFailures.
  void AddFailure(ExecutorFailure failure);
  // Recomputes the conditions (Submitted, Running, Complete, Failed,
  // Suspended) from the state; a condition's lastTransitionTime moves only
  // when its status flips.
  void UpdateConditions(int64_t generation, TimePoint now);
};

}  // namespace ember::sparkapp
