// What the controller needs to know about one of its pods, read from the
// pod's status the way a kubelet reports it.
//
// TrimPod is the pod informer's transform: it keeps only the fields that
// ViewPod reads (identity, labels, owners, timestamps, phase, conditions and
// container states) and drops the spec, so that a cache of thousands of
// pods stays small.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ember::sparkapp {

using TimePoint = std::chrono::system_clock::time_point;

struct PodView {
  std::string name;
  std::string uid;
  std::string role;           // driver | executor
  std::string submission_id;  // label
  int executor_id = 0;        // executors only
  std::string phase;          // Pending, Running, Succeeded, Failed, Unknown
  bool deleting = false;      // metadata.deletionTimestamp is set
  std::optional<TimePoint> deletion_time;  // when its grace period ends
  bool ready = false;         // the Ready condition
  std::optional<TimePoint> created;
  std::optional<TimePoint> started;  // the main container's running.startedAt, else status.startTime
  std::string pod_ip;
  // Why a Pending pod is not running yet, most telling first: the
  // scheduler's Unschedulable, then a container's waiting reason
  // (ImagePullBackOff, ErrImageNeverPull, CreateContainerConfigError, ...).
  std::string pending_reason;
  std::string pending_message;
  // status.reason / status.message, e.g. Evicted.
  std::string pod_reason;
  std::string pod_message;
  // The main container's last termination.
  bool terminated = false;
  int exit_code = 0;
  std::string terminated_reason;   // Completed, Error, OOMKilled, ...
  std::string terminated_message;  // the termination message (last error line)
  // True for a pod the operator created moments ago and the cache has not
  // shown yet.
  bool assumed = false;

  bool IsTerminal() const { return phase == "Succeeded" || phase == "Failed"; }
};

// Reads a pod (full or trimmed). `main_container` names the driver or
// executor container among sidecars.
PodView ViewPod(const nlohmann::json& pod, std::string_view main_container);

// The informer transform described above.
nlohmann::json TrimPod(nlohmann::json&& pod);

// A one-line account of why a pod failed, e.g. "exit code 137 (OOMKilled)"
// or "Evicted: The node was low on resource: memory", with the termination
// message when there is one. The reason word goes to *reason.
std::string DescribeFailure(const PodView& pod, std::string* reason);

}  // namespace ember::sparkapp
