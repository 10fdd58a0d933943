#include "operator/controller/decide.h"

#include <algorithm>
#include <map>

#include "operator/controller/names.h"

namespace ember::sparkapp {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Waiting reasons that no amount of waiting fixes.
bool PermanentPendingReason(const std::string& reason) {
  return reason == "ErrImageNeverPull" || reason == "InvalidImageName";
}

std::string FormatDuration(milliseconds d) {
  const auto secs = duration_cast<std::chrono::seconds>(d).count();
  if (secs % 3600 == 0 && secs >= 3600) return std::to_string(secs / 3600) + "h";
  if (secs % 60 == 0 && secs >= 60) return std::to_string(secs / 60) + "m";
  return std::to_string(secs) + "s";
}

// Reasons PENDING_RERUN carries; each picks the interval to wait.
constexpr const char* kRerunAfterFailure = "RetryAfterFailure";
constexpr const char* kRerunAfterSubmissionFailure = "RetryAfterSubmissionFailure";
constexpr const char* kRerunAlways = "RestartAlways";

class Decider {
 public:
  explicit Decider(const Observed& o) : o_(o) {}

  Plan Run() {
    plan_.status = o_.status;
    if (o_.deleting) return Finish();
    if (!o_.spec) return InvalidSpec();
    const std::string hash = SpecHash(o_.raw_spec);
    const AppState state = status().state;
    const bool spec_changed = !status().spec_hash.empty() && status().spec_hash != hash &&
                              o_.generation != status().observed_generation;
    status().observed_generation = o_.generation;
    if (spec_changed) {
      if (state == AppState::kSuspended) {
        status().spec_hash = hash;  // the run that resumes uses the new spec
      } else if (state != AppState::kNew && state != AppState::kInvalidating) {
        Event(false, "SparkApplicationInvalidated",
              "the spec changed; stopping the current run and starting a new one");
        Transition(AppState::kInvalidating, "SpecChanged",
                   "the spec changed; the run is stopped and started again");
      }
    }
    if (spec().suspend && !IsTerminal(status().state) && status().state != AppState::kSuspended &&
        status().state != AppState::kSuspending) {
      Event(false, "SparkApplicationSuspending", "spec.suspend is true; deleting the pods");
      Transition(AppState::kSuspending, "Suspended", "spec.suspend is true");
    }
    Handle();
    return Finish();
  }

 private:
  AppStatus& status() { return plan_.status; }
  const AppStatus& status() const { return plan_.status; }
  const AppSpec& spec() const { return *o_.spec; }

  Plan Finish() {
    if (status().state != AppState::kNew) status().UpdateConditions(o_.generation, o_.now);
    return std::move(plan_);
  }

  // Runs the handler of the current state; a handler that moves to another
  // state may run that one's handler too, at most a few steps deep.
  void Handle() {
    if (++depth_ > 4) return;
    switch (status().state) {
      case AppState::kNew: return Submit();
      case AppState::kSubmitted:
      case AppState::kRunning: return Active();
      case AppState::kSucceeding: return Succeeding();
      case AppState::kFailing: return Failing();
      case AppState::kSubmissionFailed: return SubmissionFailed();
      case AppState::kPendingRerun: return PendingRerun();
      case AppState::kInvalidating: return Invalidating();
      case AppState::kSuspending: return Suspending();
      case AppState::kSuspended: return Suspended();
      case AppState::kCompleted:
      case AppState::kFailed: return Terminal();
    }
  }

  void Transition(AppState to, std::string reason, std::string message) {
    status().Transition(to, std::move(reason), std::move(message), o_.now);
  }
  void Event(bool warning, std::string reason, std::string message) {
    plan_.events.push_back(PlannedEvent{warning, std::move(reason), std::move(message)});
  }
  void RequeueAt(TimePoint when) {
    milliseconds delay = std::max(milliseconds(0), duration_cast<milliseconds>(when - o_.now));
    // A deadline that just passed is looked at right away, not in a tight
    // loop: a second is well inside every timeout's resolution.
    delay = std::max(delay, milliseconds(100));
    if (!plan_.requeue_after || delay < *plan_.requeue_after) plan_.requeue_after = delay;
  }
  void RequeueAfter(milliseconds delay) { RequeueAt(o_.now + delay); }

  // ------------------------------------------------------------- pods --
  bool IsCurrent(const PodView& pod) const {
    return !status().submission_id.empty() && pod.submission_id == status().submission_id;
  }
  const PodView* CurrentDriver() const {
    for (const PodView& pod : o_.pods) {
      if (pod.role == kDriverRole && IsCurrent(pod)) return &pod;
    }
    return nullptr;
  }

  void DeletePod(const PodView& pod) {
    const bool planned = std::any_of(plan_.actions.begin(), plan_.actions.end(), [&](const Action& a) {
      return a.kind == ActionKind::kDeletePod && a.name == pod.name;
    });
    if (planned) return;
    if (pod.deleting) {
      // Stuck terminating (a lost node, a finalizer of someone else's):
      // take it out without grace so that nothing waits on it forever.
      if (pod.deletion_time && o_.now >= *pod.deletion_time + kForceDeleteAfter) {
        plan_.actions.push_back(Action{ActionKind::kDeletePod, pod.name, {}, pod.uid, true});
      }
      return;
    }
    plan_.actions.push_back(Action{ActionKind::kDeletePod, pod.name, {}, pod.uid, false});
  }

  // Deletes pods; returns how many still exist (including those being
  // deleted now). `keep_terminated`: leave finished pods for their logs
  // (executors only when deleteOnTermination is off).
  size_t DeletePods(bool keep_terminated) {
    size_t remaining = 0;
    for (const PodView& pod : o_.pods) {
      const bool keep = keep_terminated && pod.IsTerminal() &&
                        (pod.role == kDriverRole || !spec().executor.delete_on_termination);
      if (keep) continue;
      ++remaining;
      DeletePod(pod);
    }
    return remaining;
  }

  // ------------------------------------------------------------ states --
  Plan InvalidSpec() {
    const std::string message = o_.spec_error.message();
    for (const PodView& pod : o_.pods) {
      if (!pod.IsTerminal()) DeletePod(pod);
    }
    if (status().state != AppState::kFailed || status().reason != "InvalidSpec") {
      Event(true, "SparkApplicationFailed", "invalid spec: " + message);
      Transition(AppState::kFailed, "InvalidSpec", message);
      if (!status().termination_time) status().termination_time = o_.now;
      // So that fixing the spec counts as a change and starts a run.
      status().spec_hash = SpecHash(o_.raw_spec);
    }
    status().observed_generation = o_.generation;
    return Finish();
  }

  void Submit() {
    // Pods of an earlier run must be gone first: the new run reuses names.
    const int attempt = status().submission_attempts + 1;
    const std::string submission_id = SubmissionId(o_.app.uid, o_.generation, attempt);
    bool stale = false;
    for (const PodView& pod : o_.pods) {
      if (pod.submission_id == submission_id) continue;
      stale = true;
      DeletePod(pod);
    }
    if (stale) {
      RequeueAfter(kCleanupPoll);
      return;
    }
    if (o_.create_failure) return SubmitFailed(attempt, submission_id);

    std::vector<Action> creates;
    creates.push_back(Action{ActionKind::kCreateSecret, SecretName(o_.app.name), {}, {}, false});
    creates.push_back(Action{ActionKind::kCreateService, ServiceName(o_.app.name),
                             BuildService(o_.app, spec()), {}, false});
    creates.push_back(Action{ActionKind::kCreatePod, DriverPodName(o_.app.name),
                             BuildDriverPod(o_.app, spec(), submission_id), {}, false, false});
    const int instances = spec().executor.instances;
    for (int id = 1; id <= instances; ++id) {
      Result<nlohmann::json> pod =
          BuildExecutorPod(o_.app, spec(), submission_id, id, o_.default_executor_image);
      if (!pod.ok()) {
        StartRun(attempt, submission_id);
        Event(true, "SparkApplicationSubmissionFailed", pod.status().message());
        Transition(AppState::kSubmissionFailed, "NoExecutorImage", pod.status().message());
        return Handle();
      }
      creates.push_back(Action{ActionKind::kCreatePod, ExecutorPodName(o_.app.name, id),
                               std::move(*pod), {}, false, true});
    }
    for (auto& a : creates) plan_.actions.push_back(std::move(a));
    StartRun(attempt, submission_id);
    ExecutorCounts& e = status().executors;
    e.requested = instances;
    e.pending = instances;
    e.next_id = instances + 1;
    for (int id = 1; id <= instances; ++id) e.active.push_back(id);
    Transition(AppState::kSubmitted, "", "");
    plan_.submits = true;
    Event(false, "SparkApplicationSubmitted",
          "run " + std::to_string(attempt) + ": created driver pod " + DriverPodName(o_.app.name) +
              " and " + std::to_string(instances) + " executor pod" + (instances == 1 ? "" : "s"));
    RequeueAt(o_.now + spec().timeouts.submission);
  }

  // The bookkeeping of a new run, whether or not its pods could be created.
  void StartRun(int attempt, const std::string& submission_id) {
    AppStatus& s = status();
    s.submission_attempts = attempt;
    s.submission_id = submission_id;
    s.last_submission_attempt_time = o_.now;
    s.spec_hash = SpecHash(o_.raw_spec);
    s.driver_start_time.reset();
    s.termination_time.reset();
    s.executors = ExecutorCounts{};
    s.executors.requested = spec().executor.instances;
    s.recent_failures.clear();
    s.driver = DriverInfo{DriverPodName(o_.app.name), ServiceName(o_.app.name),
                          WebUiAddress(o_.app), ""};
  }

  void SubmitFailed(int attempt, const std::string& submission_id) {
    const CreateFailure& f = *o_.create_failure;
    StartRun(attempt, submission_id);
    const std::string message = "creating " + f.object + ": " + f.error.message();
    Event(true, "SparkApplicationSubmissionFailed", message);
    Transition(AppState::kSubmissionFailed, f.reason.empty() ? "CreateFailed" : f.reason, message);
    Handle();
  }

  void Fail(std::string reason, std::string message) {
    Event(true, "SparkApplicationFailing", message);
    Transition(AppState::kFailing, std::move(reason), std::move(message));
    if (!status().termination_time) status().termination_time = o_.now;
    Handle();
  }

  void Active() {
    const PodView* driver = CurrentDriver();
    if (driver == nullptr) {
      if (!o_.pods_confirmed) {
        plan_.need_live_pods = true;
        return;
      }
      return Fail("DriverPodMissing", "driver pod " + DriverPodName(o_.app.name) +
                                          " no longer exists (deleted?)");
    }
    status().driver.pod_ip = driver->pod_ip;
    if (driver->phase == "Succeeded") {
      Event(false, "SparkDriverCompleted", "driver pod " + driver->name + " exited successfully");
      if (!status().termination_time) status().termination_time = o_.now;
      Transition(AppState::kSucceeding, "DriverCompleted", "");
      return Handle();
    }
    if (driver->phase == "Failed") {
      std::string reason;
      const std::string what = DescribeFailure(*driver, &reason);
      if (reason == "Error" || reason == "Failed") reason = "DriverFailed";
      Event(true, "SparkDriverFailed", "driver pod " + driver->name + " failed: " + what);
      return Fail(reason, "driver failed: " + what);
    }
    if (driver->phase == "Running") {
      if (!DriverRunning(*driver)) return;
    } else if (driver->phase == "Pending" || driver->phase.empty()) {
      if (!DriverPending(*driver)) return;
    } else {
      // Unknown: the node stopped reporting. The kubelet or the node
      // lifecycle controller settles it; until then the state's deadline
      // still applies, so a lost node cannot hold the app forever.
      const std::string detail = "phase " + driver->phase + ": its node stopped reporting";
      const bool within = status().state == AppState::kRunning
                              ? WithinRunDeadline()
                              : WithinSubmissionDeadline(*driver, "NodeLost", detail);
      if (!within) return;
      RequeueAfter(std::chrono::seconds(10));
    }
    ManageExecutors();
    if (status().state == AppState::kSubmitted || status().state == AppState::kRunning) {
      RequeueAfter(kResyncPeriod);
    }
  }

  // Returns false when the run left the active states.
  bool DriverPending(const PodView& driver) {
    const std::string pending = driver.pending_reason;
    const std::string detail = pending.empty() ? "" : pending + ": " + driver.pending_message;
    if (PermanentPendingReason(pending)) {
      SubmissionFailedNow(pending, "driver pod " + driver.name + " cannot start: " + detail);
      return false;
    }
    if (!WithinSubmissionDeadline(driver, pending, detail)) return false;
    // Say why it waits; Unschedulable and ImagePullBackOff are what users
    // look for.
    status().reason = pending;
    status().error_message = driver.pending_message;
    return true;
  }

  // Fails the submission once timeouts.submission has passed since it, with
  // `reason` (SubmissionTimeout when empty) and `detail`; otherwise
  // requeues at the deadline.
  bool WithinSubmissionDeadline(const PodView& driver, const std::string& reason,
                                const std::string& detail) {
    const TimePoint since = status().last_submission_attempt_time.value_or(o_.now);
    const TimePoint deadline = since + spec().timeouts.submission;
    if (o_.now < deadline) {
      RequeueAt(deadline);
      return true;
    }
    plan_.timeouts.push_back("submission");
    SubmissionFailedNow(reason.empty() ? "SubmissionTimeout" : reason,
                        "driver pod " + driver.name + " not running after " +
                            FormatDuration(spec().timeouts.submission) +
                            (detail.empty() ? "" : " (" + detail + ")"));
    return false;
  }

  // Fails the run once timeouts.maxRunDuration has passed since the driver
  // started; otherwise requeues at the deadline.
  bool WithinRunDeadline() {
    const TimePoint started = status().driver_start_time.value_or(o_.now);
    const TimePoint run_deadline = started + spec().timeouts.max_run_duration;
    if (o_.now < run_deadline) {
      RequeueAt(run_deadline);
      return true;
    }
    plan_.timeouts.push_back("max_run_duration");
    Fail("MaxRunDurationExceeded", "the run exceeded timeouts.maxRunDuration (" +
                                       FormatDuration(spec().timeouts.max_run_duration) + ")");
    return false;
  }

  void SubmissionFailedNow(std::string reason, std::string message) {
    Event(true, "SparkApplicationSubmissionFailed", message);
    Transition(AppState::kSubmissionFailed, std::move(reason), std::move(message));
    Handle();
  }

  bool DriverRunning(const PodView& driver) {
    if (status().state != AppState::kRunning) {
      status().execution_attempts += 1;
      status().driver_start_time = driver.started.value_or(o_.now);
      Transition(AppState::kRunning, "", "");
      plan_.driver_started = true;
      Event(false, "SparkDriverRunning", "driver pod " + driver.name + " is running");
    }
    status().reason.clear();
    status().error_message.clear();
    const TimePoint started = status().driver_start_time.value_or(o_.now);
    const TimePoint ready_deadline = started + spec().timeouts.driver_ready;
    if (!driver.ready && o_.now >= ready_deadline) {
      plan_.timeouts.push_back("driver_ready");
      Fail("DriverNotReady", "the driver did not become ready within " +
                                 FormatDuration(spec().timeouts.driver_ready));
      return false;
    }
    if (!WithinRunDeadline()) return false;
    if (!driver.ready) RequeueAt(ready_deadline);
    return true;
  }

  void RecordFailure(int id, const std::string& pod_name, const std::string& uid, std::string reason,
                     std::string message, std::optional<int> exit_code) {
    ExecutorFailure f;
    f.executor_id = id;
    f.pod_name = pod_name;
    f.pod_uid = uid;
    f.reason = std::move(reason);
    f.message = std::move(message);
    f.exit_code = exit_code;
    f.time = o_.now;
    Event(true, "SparkExecutorFailed", "executor " + std::to_string(id) + " (pod " + pod_name +
                                           ") failed: " + f.message);
    status().executors.failed += 1;
    status().AddFailure(std::move(f));
  }

  void ManageExecutors() {
    ExecutorCounts& e = status().executors;
    std::map<int, const PodView*> by_id;
    for (const PodView& pod : o_.pods) {
      if (pod.role == kExecutorRole && IsCurrent(pod) && pod.executor_id > 0) {
        by_id[pod.executor_id] = &pod;
      }
    }
    // Pods created just before a crash, which the status never recorded.
    for (const auto& [id, pod] : by_id) {
      if (id >= e.next_id) {
        e.active.push_back(id);
        e.next_id = id + 1;
      }
    }
    std::sort(e.active.begin(), e.active.end());
    e.active.erase(std::unique(e.active.begin(), e.active.end()), e.active.end());
    for (int id : e.active) {
      if (by_id.count(id) == 0 && !o_.pods_confirmed) {
        plan_.need_live_pods = true;
        return;
      }
    }

    std::vector<int> active;
    int running = 0;
    int pending = 0;
    for (int id : e.active) {
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        RecordFailure(id, ExecutorPodName(o_.app.name, id), "", "Deleted",
                      "the executor pod disappeared (deleted)", std::nullopt);
        continue;
      }
      const PodView& pod = *it->second;
      if (pod.phase == "Failed") {
        std::string reason;
        const std::string what = DescribeFailure(pod, &reason);
        RecordFailure(id, pod.name, pod.uid, reason, what,
                      pod.terminated ? std::optional<int>(pod.exit_code) : std::nullopt);
        DeletePod(pod);
        continue;
      }
      if (pod.phase == "Succeeded") continue;
      if (pod.deleting) {
        RecordFailure(id, pod.name, pod.uid, "Deleted", "the executor pod is being deleted",
                      std::nullopt);
        continue;
      }
      if (pod.phase != "Running") {
        const std::string detail =
            pod.pending_reason.empty() ? "" : " (" + pod.pending_reason + ": " + pod.pending_message + ")";
        if (PermanentPendingReason(pod.pending_reason)) {
          RecordFailure(id, pod.name, pod.uid, pod.pending_reason, "cannot start" + detail,
                        std::nullopt);
          DeletePod(pod);
          continue;
        }
        if (!pod.assumed && pod.created && o_.now >= *pod.created + spec().timeouts.executor_start) {
          plan_.timeouts.push_back("executor_start");
          RecordFailure(id, pod.name, pod.uid,
                        pod.pending_reason.empty() ? "ExecutorStartTimeout" : pod.pending_reason,
                        "not running after " + FormatDuration(spec().timeouts.executor_start) + detail,
                        std::nullopt);
          DeletePod(pod);
          continue;
        }
        if (pod.created) RequeueAt(*pod.created + spec().timeouts.executor_start);
        ++pending;
      } else {
        ++running;
      }
      active.push_back(id);
    }
    // Pods of this run that are no longer counted (their failure is
    // recorded) but still exist.
    int succeeded = 0;
    for (const auto& [id, pod] : by_id) {
      if (pod->phase == "Succeeded") {
        ++succeeded;
        continue;
      }
      if (std::find(active.begin(), active.end(), id) == active.end() && pod->phase != "Failed") {
        DeletePod(*pod);
      }
    }
    const int max_failures = spec().executor.max_failures;
    if (e.failed > max_failures) {
      std::string last;
      for (const ExecutorFailure& f : status().recent_failures) {
        last += (last.empty() ? "" : "; ") + std::string("executor ") +
                std::to_string(f.executor_id) + ": " + f.message;
      }
      e.active = active;
      e.running = running;
      e.pending = pending;
      e.succeeded = succeeded;
      return Fail("ExecutorFailures", std::to_string(e.failed) +
                                          " executor failures exceed executor.maxFailures (" +
                                          std::to_string(max_failures) + "); last: " + last);
    }
    if (o_.create_failure && o_.create_failure->executor) {
      return Fail("ExecutorCreateFailed", "creating " + o_.create_failure->object + ": " +
                                              o_.create_failure->error.message());
    }
    const int wanted = spec().executor.instances - succeeded - static_cast<int>(active.size());
    for (int k = 0; k < wanted; ++k) {
      const int id = e.next_id++;
      Result<nlohmann::json> pod = BuildExecutorPod(o_.app, spec(), status().submission_id, id,
                                                    o_.default_executor_image);
      if (!pod.ok()) return Fail("NoExecutorImage", pod.status().message());
      plan_.actions.push_back(Action{ActionKind::kCreatePod, ExecutorPodName(o_.app.name, id),
                                     std::move(*pod), {}, false, true});
      active.push_back(id);
      ++pending;
    }
    e.requested = spec().executor.instances;
    e.active = std::move(active);
    e.running = running;
    e.pending = pending;
    e.succeeded = succeeded;
  }

  // Counts what is left of the run's executors for the status.
  void CountExecutors() {
    ExecutorCounts& e = status().executors;
    e.running = 0;
    e.pending = 0;
    e.succeeded = 0;
    for (const PodView& pod : o_.pods) {
      if (pod.role != kExecutorRole || !IsCurrent(pod)) continue;
      if (pod.phase == "Running") ++e.running;
      else if (pod.phase == "Succeeded") ++e.succeeded;
      else if (!pod.IsTerminal()) ++e.pending;
    }
    e.active.clear();
  }

  // Stops what still runs; true once nothing runs any more.
  bool StopRun() {
    bool running = false;
    for (const PodView& pod : o_.pods) {
      const bool executor_to_remove =
          pod.role == kExecutorRole && spec().executor.delete_on_termination;
      if (!pod.IsTerminal()) {
        running = true;
        DeletePod(pod);
      } else if (executor_to_remove) {
        DeletePod(pod);
      }
    }
    CountExecutors();
    if (running) RequeueAfter(kCleanupPoll);
    return !running;
  }

  void Succeeding() {
    // The driver's success decides the run: executors still running are
    // told to stop (Terminal keeps at it until they are gone), but the app
    // does not wait for their pods to end, which takes the kubelet a second
    // or two. A rerun waits for them in PENDING_RERUN.
    StopRun();
    if (spec().restart_policy.type == RestartType::kAlways) {
      return PendingRerunNow(kRerunAlways, "the run completed; restartPolicy is Always");
    }
    Event(false, "SparkApplicationCompleted", "run " + std::to_string(status().submission_attempts) +
                                                  " completed");
    Transition(AppState::kCompleted, "Completed", "");
    EnterTerminal();
  }

  void Failing() {
    if (!StopRun()) return;
    const RestartPolicy& r = spec().restart_policy;
    const bool retry = r.type == RestartType::kAlways ||
                       (r.type == RestartType::kOnFailure &&
                        status().execution_attempts <= r.on_failure_retries);
    if (retry) {
      return PendingRerunNow(kRerunAfterFailure, status().error_message);
    }
    Event(true, "SparkApplicationFailed", status().error_message);
    Transition(AppState::kFailed, status().reason, status().error_message);
    EnterTerminal();
  }

  void SubmissionFailed() {
    // Nothing of a failed submission is worth keeping.
    size_t remaining = 0;
    for (const PodView& pod : o_.pods) {
      ++remaining;
      DeletePod(pod);
    }
    CountExecutors();
    if (remaining > 0) RequeueAfter(kCleanupPoll);
    if (status().termination_time) return Ttl();
    // Just failed: retry, or end here.
    const RestartPolicy& r = spec().restart_policy;
    const int failed_submissions = status().submission_attempts - status().execution_attempts;
    if (r.type != RestartType::kNever && failed_submissions <= r.on_submission_failure_retries) {
      return PendingRerunNow(kRerunAfterSubmissionFailure, status().error_message);
    }
    EnterTerminal();
  }

  void PendingRerunNow(const char* reason, const std::string& message) {
    Event(false, "SparkApplicationPendingRerun", message.empty() ? reason : message);
    Transition(AppState::kPendingRerun, reason, message);
    if (!status().termination_time) status().termination_time = o_.now;
    Handle();
  }

  void PendingRerun() {
    if (DeletePods(false) > 0) {
      RequeueAfter(kCleanupPoll);
      return;
    }
    const RestartPolicy& r = spec().restart_policy;
    const std::chrono::seconds interval = status().reason == kRerunAfterSubmissionFailure
                                              ? r.on_submission_failure_retry_interval
                                              : r.on_failure_retry_interval;
    const TimePoint since = status().last_transition_time.value_or(TimePoint{});
    if (o_.now < since + interval) {
      RequeueAt(since + interval);
      return;
    }
    Submit();
  }

  void Invalidating() {
    if (DeletePods(false) > 0) {
      RequeueAfter(kCleanupPoll);
      return;
    }
    // A new spec gets a fresh budget of retries; the submission id stays
    // unique through the generation in it.
    status().submission_attempts = 0;
    status().execution_attempts = 0;
    Submit();
  }

  void Suspending() {
    if (DeletePods(false) > 0) {
      RequeueAfter(kCleanupPoll);
      return;
    }
    CountExecutors();
    status().executors.requested = 0;
    Event(false, "SparkApplicationSuspended", "the application is suspended; no pods run");
    Transition(AppState::kSuspended, "Suspended", "");
  }

  void Suspended() {
    if (spec().suspend) return;
    Event(false, "SparkApplicationResumed", "spec.suspend is false; starting a new run");
    Submit();
  }

  // Entering COMPLETED, FAILED or a final SUBMISSION_FAILED.
  void EnterTerminal() {
    if (!status().termination_time) status().termination_time = o_.now;
    CountExecutors();
    plan_.actions.push_back(Action{ActionKind::kDeleteService, ServiceName(o_.app.name), {}, {}, false});
    Ttl();
  }

  void Terminal() {
    // Anything still running belongs to no run any more.
    bool running = false;
    for (const PodView& pod : o_.pods) {
      running |= !pod.IsTerminal();
      if (!pod.IsTerminal() || (pod.role == kExecutorRole && spec().executor.delete_on_termination)) {
        DeletePod(pod);
      }
    }
    CountExecutors();
    if (running) RequeueAfter(kCleanupPoll);
    Ttl();
  }

  void Ttl() {
    if (!spec().time_to_live_seconds) return;
    const TimePoint ended = status().termination_time.value_or(o_.now);
    const TimePoint expiry = ended + std::chrono::seconds(*spec().time_to_live_seconds);
    if (o_.now >= expiry) {
      plan_.actions.push_back(Action{ActionKind::kDeleteApplication, o_.app.name, {}, o_.app.uid, false});
      Event(false, "SparkApplicationExpired",
            "deleting the application: timeToLiveSeconds (" +
                std::to_string(*spec().time_to_live_seconds) + ") has passed since it terminated");
      return;
    }
    RequeueAt(expiry);
  }

  const Observed& o_;
  Plan plan_;
  int depth_ = 0;
};

}  // namespace

Plan Decide(const Observed& observed) {
  return Decider(observed).Run();
}

}  // namespace ember::sparkapp
