// The SparkApplication state machine, as a pure function of observed state.
//
// Decide() looks at one application (its spec, its status, and the pods it
// owns as the cache shows them) and returns a Plan: the objects to create
// or delete, the status to write, the Events to record, and when to look
// again. It reads no clock and does no I/O, so every transition is a unit
// test with a table of observed states. It is idempotent: deciding again on
// the state a plan produced asks for nothing new. See docs/operator.md for
// the diagram.
//
// The reconciler runs it, executes the plan, and writes the status. Two
// things it may have to come back with:
//   - need_live_pods: a pod the status says should exist is missing from the
//     cache. The cache can lag, so a missing pod is never taken as lost
//     until a live read of the API says so; the reconciler reads, sets
//     pods_confirmed, and decides again.
//   - create_failure: the API refused to create an object for good (invalid,
//     forbidden by admission). The reconciler decides again with it set,
//     which turns the submission into SUBMISSION_FAILED (or the run into
//     FAILING, for a replacement executor).
//
// Thread-safety: pure function.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ember/status.h"
#include "operator/controller/app_status.h"
#include "operator/controller/pod_view.h"
#include "operator/controller/resources.h"
#include "operator/controller/spec.h"

namespace ember::sparkapp {

// How long a pod may stay terminating before it is deleted with no grace.
inline constexpr std::chrono::seconds kForceDeleteAfter{60};
// How often a non-terminal application is looked at even if nothing
// changes: a safety net for missed events.
inline constexpr std::chrono::minutes kResyncPeriod{5};
// How soon to look again while waiting for pods to go away.
inline constexpr std::chrono::seconds kCleanupPoll{2};

struct CreateFailure {
  std::string object;  // "pod app-exec-3"
  bool executor = false;
  Status error;
  // The API's reason word: Forbidden, Invalid, ...
  std::string reason;
};

struct Observed {
  TimePoint now;
  AppRef app;
  int64_t generation = 0;
  bool deleting = false;
  nlohmann::json raw_spec;
  // The parsed spec, or why it could not be parsed.
  std::optional<AppSpec> spec;
  Status spec_error;
  AppStatus status;
  // Every pod of the application, all runs, driver and executors.
  std::vector<PodView> pods;
  bool pods_confirmed = false;
  std::optional<CreateFailure> create_failure;
  std::string default_executor_image;
};

enum class ActionKind { kCreateSecret, kCreateService, kCreatePod, kDeletePod, kDeleteService, kDeleteApplication };

struct Action {
  ActionKind kind;
  std::string name;        // object name
  nlohmann::json object;   // kCreateService, kCreatePod
  std::string uid;         // kDeletePod: delete only this incarnation
  bool force = false;      // kDeletePod: no grace period
  bool executor = false;   // kCreatePod: an executor (else the driver)
};

struct PlannedEvent {
  bool warning = false;
  std::string reason;
  std::string message;
};

struct Plan {
  std::vector<Action> actions;
  AppStatus status;
  std::vector<PlannedEvent> events;
  // Look again after this long even if nothing changes; nullopt: only when
  // something changes.
  std::optional<std::chrono::milliseconds> requeue_after;
  bool need_live_pods = false;
  // For metrics: this plan submits a run / sees its driver start running.
  bool submits = false;
  bool driver_started = false;
  // For metrics: each timeout this plan acts on ("submission",
  // "driver_ready", "executor_start", "max_run_duration").
  std::vector<std::string> timeouts;
};

Plan Decide(const Observed& observed);

}  // namespace ember::sparkapp
