// The SparkApplication spec, parsed into typed values with every default
// applied.
//
// The API server already enforces the CRD's schema and rules
// (manifests/crds/ember.dev_sparkapplications.yaml) and fills in its
// defaults; ParseSpec applies the same defaults and checks again, so that an
// object stored before a CRD change still yields either a usable spec or an
// error that names the field. Fields the operator only passes through to
// pods (env, volumes, affinity, tolerations, security contexts, sidecars,
// ...) stay JSON: the API server validates them as part of the pods.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ember/status.h"

namespace ember::sparkapp {

enum class RestartType { kNever, kOnFailure, kAlways };

// What the driver and executors have in common.
struct RoleSpec {
  int cores = 1;
  // Millicores of the pod's request (coreRequest, else cores) and limit
  // (coreLimit; 0 for none).
  int64_t cpu_request_millis = 1000;
  int64_t cpu_limit_millis = 0;
  uint64_t memory_bytes = 1ull << 30;
  uint64_t memory_overhead_bytes = 128ull << 20;
  std::string image;  // resolved: the role's own, else spec.image (may stay empty for executors)
  nlohmann::json env = nlohmann::json::array();
  nlohmann::json env_from = nlohmann::json::array();
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  nlohmann::json volume_mounts = nlohmann::json::array();
  std::map<std::string, std::string> node_selector;
  nlohmann::json tolerations = nlohmann::json::array();
  nlohmann::json affinity;  // null when unset
  std::string service_account;
  nlohmann::json pod_security_context;  // null when unset
  nlohmann::json security_context;      // null when unset
  nlohmann::json sidecars = nlohmann::json::array();
  nlohmann::json init_containers = nlohmann::json::array();
  std::string priority_class_name;
  std::optional<int64_t> termination_grace_period_seconds;
  std::string scheduler_name;

  // Memory request and limit of the pod: memory plus overhead.
  uint64_t PodMemoryBytes() const { return memory_bytes + memory_overhead_bytes; }
};

struct ExecutorSpec : RoleSpec {
  int instances = 1;
  bool delete_on_termination = true;
  int max_failures = 3;
};

struct RestartPolicy {
  RestartType type = RestartType::kNever;
  int on_failure_retries = 3;
  std::chrono::seconds on_failure_retry_interval{10};
  int on_submission_failure_retries = 3;
  std::chrono::seconds on_submission_failure_retry_interval{10};
};

struct Timeouts {
  std::chrono::milliseconds submission{std::chrono::minutes(5)};
  std::chrono::milliseconds driver_ready{std::chrono::minutes(5)};
  std::chrono::milliseconds executor_start{std::chrono::minutes(5)};
  std::chrono::milliseconds max_run_duration{std::chrono::hours(24)};
};

struct Monitoring {
  bool expose_driver_metrics = true;
  bool expose_executor_metrics = true;
  int port = 9090;
};

struct AppSpec {
  std::string image;
  std::string image_pull_policy = "IfNotPresent";
  std::vector<std::string> image_pull_secrets;
  // The library's path inside the container, "local://" stripped.
  std::string main_application_file;
  std::string main_class;
  std::vector<std::string> arguments;
  std::map<std::string, std::string> spark_conf;
  nlohmann::json volumes = nlohmann::json::array();
  std::optional<int64_t> time_to_live_seconds;
  bool suspend = false;
  Monitoring monitoring;
  RoleSpec driver;
  ExecutorSpec executor;
  RestartPolicy restart_policy;
  Timeouts timeouts;
};

// Parses `spec` (the object's .spec). Errors name the field, e.g.
// "spec.executor.memory: invalid value '512': expected a size with a unit".
Result<AppSpec> ParseSpec(const nlohmann::json& spec);

// Identifies what a run was submitted with: a hash of the spec without the
// fields that apply in place (suspend, timeToLiveSeconds). 16 hex digits.
std::string SpecHash(const nlohmann::json& spec);

// The default overhead for `memory_bytes`: 10% rounded up to a MiB, at
// least 128 MiB.
uint64_t DefaultMemoryOverhead(uint64_t memory_bytes);
// The default executor.maxFailures for `instances`: twice that, at least 3.
int DefaultMaxFailures(int instances);

}  // namespace ember::sparkapp
