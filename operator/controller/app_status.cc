#include "operator/controller/app_status.h"

#include <algorithm>
#include <array>

#include "operator/kube/core/json_util.h"
#include "operator/kube/core/time_format.h"

namespace ember::sparkapp {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<AppState, std::string_view>, 12> kStateNames = {{
    {AppState::kNew, "NEW"},
    {AppState::kSubmitted, "SUBMITTED"},
    {AppState::kRunning, "RUNNING"},
    {AppState::kSucceeding, "SUCCEEDING"},
    {AppState::kCompleted, "COMPLETED"},
    {AppState::kFailing, "FAILING"},
    {AppState::kFailed, "FAILED"},
    {AppState::kSubmissionFailed, "SUBMISSION_FAILED"},
    {AppState::kPendingRerun, "PENDING_RERUN"},
    {AppState::kInvalidating, "INVALIDATING"},
    {AppState::kSuspending, "SUSPENDING"},
    {AppState::kSuspended, "SUSPENDED"},
}};

void PutTime(json& out, const char* key, const std::optional<TimePoint>& t) {
  if (t) out[key] = kube::FormatTime(*t);
}

std::optional<TimePoint> GetTime(const json& in, const char* key) {
  const std::string text = kube::StringAt(in, key);
  if (text.empty()) return std::nullopt;
  return kube::ParseTime(text);
}

int GetInt(const json& in, const char* key) {
  return static_cast<int>(kube::IntAt(in, key, 0));
}

}  // namespace

std::string_view StateName(AppState state) {
  for (const auto& [s, name] : kStateNames) {
    if (s == state) return name;
  }
  return "NEW";
}

std::optional<AppState> ParseState(std::string_view name) {
  if (name.empty()) return AppState::kNew;
  for (const auto& [s, n] : kStateNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool IsTerminal(AppState state) {
  return state == AppState::kCompleted || state == AppState::kFailed ||
         state == AppState::kSubmissionFailed;
}

json AppStatus::ToJson() const {
  json out = json::object();
  json app_state = {{"state", StateName(state)}};
  if (!reason.empty()) app_state["reason"] = reason;
  if (!error_message.empty()) app_state["errorMessage"] = error_message;
  PutTime(app_state, "lastTransitionTime", last_transition_time);
  out["applicationState"] = std::move(app_state);
  json conds = json::array();
  for (const Condition& c : conditions) {
    json j = {{"type", c.type},
              {"status", c.status},
              {"reason", c.reason},
              {"message", c.message},
              {"observedGeneration", c.observed_generation}};
    j["lastTransitionTime"] = kube::FormatTime(c.last_transition_time.value_or(TimePoint{}));
    conds.push_back(std::move(j));
  }
  out["conditions"] = std::move(conds);
  out["observedGeneration"] = observed_generation;
  if (!spec_hash.empty()) out["specHash"] = spec_hash;
  if (!submission_id.empty()) out["submissionID"] = submission_id;
  json d = json::object();
  if (!driver.pod_name.empty()) d["podName"] = driver.pod_name;
  if (!driver.service_name.empty()) d["serviceName"] = driver.service_name;
  if (!driver.web_ui_address.empty()) d["webUIAddress"] = driver.web_ui_address;
  if (!driver.pod_ip.empty()) d["podIP"] = driver.pod_ip;
  out["driverInfo"] = std::move(d);
  out["executors"] = {{"requested", executors.requested},
                      {"pending", executors.pending},
                      {"running", executors.running},
                      {"succeeded", executors.succeeded},
                      {"failed", executors.failed},
                      {"summary", std::to_string(executors.running) + "/" +
                                      std::to_string(executors.requested)},
                      {"nextId", executors.next_id},
                      {"active", executors.active}};
  json failures = json::array();
  for (const ExecutorFailure& f : recent_failures) {
    json j = {{"executorId", f.executor_id},
              {"podName", f.pod_name},
              {"reason", f.reason},
              {"message", f.message}};
    if (!f.pod_uid.empty()) j["podUID"] = f.pod_uid;
    if (f.exit_code) j["exitCode"] = *f.exit_code;
    PutTime(j, "time", f.time);
    failures.push_back(std::move(j));
  }
  out["recentExecutorFailures"] = std::move(failures);
  out["submissionAttempts"] = submission_attempts;
  out["executionAttempts"] = execution_attempts;
  PutTime(out, "lastSubmissionAttemptTime", last_submission_attempt_time);
  PutTime(out, "driverStartTime", driver_start_time);
  PutTime(out, "terminationTime", termination_time);
  return out;
}

AppStatus AppStatus::FromJson(const json& in) {
  AppStatus s;
  if (!in.is_object()) return s;
  const json& app_state = kube::ObjectAt(in, "applicationState");
  s.state = ParseState(kube::StringAt(app_state, "state")).value_or(AppState::kNew);
  s.reason = kube::StringAt(app_state, "reason");
  s.error_message = kube::StringAt(app_state, "errorMessage");
  s.last_transition_time = GetTime(app_state, "lastTransitionTime");
  if (auto it = in.find("conditions"); it != in.end() && it->is_array()) {
    for (const json& c : *it) {
      Condition cond;
      cond.type = kube::StringAt(c, "type");
      cond.status = kube::StringAt(c, "status");
      cond.reason = kube::StringAt(c, "reason");
      cond.message = kube::StringAt(c, "message");
      cond.last_transition_time = GetTime(c, "lastTransitionTime");
      cond.observed_generation = kube::IntAt(c, "observedGeneration", 0);
      if (!cond.type.empty()) s.conditions.push_back(std::move(cond));
    }
  }
  s.observed_generation = kube::IntAt(in, "observedGeneration", 0);
  s.spec_hash = kube::StringAt(in, "specHash");
  s.submission_id = kube::StringAt(in, "submissionID");
  const json& d = kube::ObjectAt(in, "driverInfo");
  s.driver.pod_name = kube::StringAt(d, "podName");
  s.driver.service_name = kube::StringAt(d, "serviceName");
  s.driver.web_ui_address = kube::StringAt(d, "webUIAddress");
  s.driver.pod_ip = kube::StringAt(d, "podIP");
  const json& e = kube::ObjectAt(in, "executors");
  s.executors.requested = GetInt(e, "requested");
  s.executors.pending = GetInt(e, "pending");
  s.executors.running = GetInt(e, "running");
  s.executors.succeeded = GetInt(e, "succeeded");
  s.executors.failed = GetInt(e, "failed");
  s.executors.next_id = std::max(1, static_cast<int>(kube::IntAt(e, "nextId", 1)));
  if (auto it = e.find("active"); it != e.end() && it->is_array()) {
    for (const json& id : *it) {
      if (id.is_number_integer()) s.executors.active.push_back(id.get<int>());
    }
  }
  if (auto it = in.find("recentExecutorFailures"); it != in.end() && it->is_array()) {
    for (const json& f : *it) {
      ExecutorFailure failure;
      failure.executor_id = GetInt(f, "executorId");
      failure.pod_name = kube::StringAt(f, "podName");
      failure.pod_uid = kube::StringAt(f, "podUID");
      failure.reason = kube::StringAt(f, "reason");
      failure.message = kube::StringAt(f, "message");
      if (f.is_object() && f.contains("exitCode") && f["exitCode"].is_number_integer()) {
        failure.exit_code = f["exitCode"].get<int>();
      }
      failure.time = GetTime(f, "time");
      s.recent_failures.push_back(std::move(failure));
    }
  }
  s.submission_attempts = GetInt(in, "submissionAttempts");
  s.execution_attempts = GetInt(in, "executionAttempts");
  s.last_submission_attempt_time = GetTime(in, "lastSubmissionAttemptTime");
  s.driver_start_time = GetTime(in, "driverStartTime");
  s.termination_time = GetTime(in, "terminationTime");
  return s;
}

void AppStatus::Transition(AppState to, std::string why, std::string message, TimePoint now) {
  if (to != state) last_transition_time = now;
  state = to;
  reason = std::move(why);
  error_message = std::move(message);
}

void AppStatus::AddFailure(ExecutorFailure failure) {
  recent_failures.push_back(std::move(failure));
  while (recent_failures.size() > kMaxRecentFailures) recent_failures.erase(recent_failures.begin());
}

void AppStatus::UpdateConditions(int64_t generation, TimePoint now) {
  struct Want {
    const char* type;
    bool value;
    std::string reason;
    std::string message;
  };
  const std::string state_reason = reason.empty() ? std::string(StateName(state)) : reason;
  const bool submitted = state == AppState::kSubmitted || state == AppState::kRunning ||
                         state == AppState::kSucceeding || state == AppState::kCompleted ||
                         state == AppState::kFailing ||
                         (state == AppState::kFailed && execution_attempts > 0);
  const bool failed = state == AppState::kFailed || state == AppState::kSubmissionFailed;
  const bool suspended = state == AppState::kSuspended;
  const std::vector<Want> wants = {
      {"Submitted", submitted, submitted ? "Submitted" : state_reason,
       submitted ? "driver and executor pods were created" : error_message},
      {"Running", state == AppState::kRunning, state == AppState::kRunning ? "DriverRunning" : state_reason,
       state == AppState::kRunning ? "the driver is running" : error_message},
      {"Complete", state == AppState::kCompleted, state == AppState::kCompleted ? "Completed" : state_reason,
       state == AppState::kCompleted ? "the driver exited successfully" : ""},
      {"Failed", failed, failed ? state_reason : "NotFailed", failed ? error_message : ""},
      {"Suspended", suspended, suspended ? "Suspended" : "NotSuspended",
       suspended ? "spec.suspend is true; no pods run" : ""},
  };
  std::vector<Condition> next;
  for (const Want& want : wants) {
    Condition c;
    c.type = want.type;
    c.status = want.value ? "True" : "False";
    c.reason = want.reason.empty() ? (want.value ? want.type : "Not" + std::string(want.type))
                                   : want.reason;
    c.message = want.message;
    c.observed_generation = generation;
    c.last_transition_time = now;
    auto old = std::find_if(conditions.begin(), conditions.end(),
                            [&](const Condition& o) { return o.type == c.type; });
    if (old != conditions.end() && old->status == c.status && old->last_transition_time) {
      c.last_transition_time = old->last_transition_time;
    }
    next.push_back(std::move(c));
  }
  conditions = std::move(next);
}

}  // namespace ember::sparkapp
