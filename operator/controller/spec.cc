#include "operator/controller/spec.h"

#include <algorithm>
#include <cstdio>

#include "operator/controller/units.h"
#include "operator/kube/core/json_util.h"

namespace ember::sparkapp {
namespace {

using nlohmann::json;

constexpr uint64_t kMinOverhead = 128ull << 20;
constexpr int kMaxCores = 1024;
constexpr int kMaxInstances = 10000;

Status WrongType(const std::string& path, std::string_view expected) {
  return InvalidArgumentError(path + ": must be " + std::string(expected));
}

// Reads an optional field of one JSON type into `out`; absent or null
// leaves `out` alone.
class Fields {
 public:
  Fields(const json& object, std::string path) : object_(object), path_(std::move(path)) {}

  const json* Find(const char* key) const {
    if (!object_.is_object()) return nullptr;
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  std::string Path(const char* key) const { return path_ + "." + key; }

  Status String(const char* key, std::string* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return WrongType(Path(key), "a string");
    *out = v->get<std::string>();
    return Status::Ok();
  }
  Status Bool(const char* key, bool* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_boolean()) return WrongType(Path(key), "true or false");
    *out = v->get<bool>();
    return Status::Ok();
  }
  Status Int(const char* key, int64_t min, int64_t max, int64_t* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_number_integer()) return WrongType(Path(key), "an integer");
    const int64_t x = v->get<int64_t>();
    if (x < min || x > max) {
      return InvalidArgumentError(Path(key) + ": " + std::to_string(x) + " is out of range [" +
                                  std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    *out = x;
    return Status::Ok();
  }
  Status Int32(const char* key, int64_t min, int64_t max, int* out) const {
    int64_t x = *out;
    RETURN_IF_ERROR(Int(key, min, max, &x));
    *out = static_cast<int>(x);
    return Status::Ok();
  }
  Status StringMap(const char* key, std::map<std::string, std::string>* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_object()) return WrongType(Path(key), "a map of strings");
    for (const auto& [k, value] : v->items()) {
      if (!value.is_string()) return WrongType(Path(key) + "." + k, "a string");
      (*out)[k] = value.get<std::string>();
    }
    return Status::Ok();
  }
  Status StringList(const char* key, std::vector<std::string>* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_array()) return WrongType(Path(key), "a list of strings");
    for (const auto& item : *v) {
      if (!item.is_string()) return WrongType(Path(key) + "[]", "a string");
      out->push_back(item.get<std::string>());
    }
    return Status::Ok();
  }
  // A list of objects, each with the given string fields.
  Status ObjectList(const char* key, std::initializer_list<const char*> required, json* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_array()) return WrongType(Path(key), "a list");
    for (size_t i = 0; i < v->size(); ++i) {
      const json& item = (*v)[i];
      const std::string at = Path(key) + "[" + std::to_string(i) + "]";
      if (!item.is_object()) return WrongType(at, "an object");
      for (const char* field : required) {
        if (kube::StringAt(item, field).empty()) {
          return InvalidArgumentError(at + "." + field + ": required");
        }
      }
    }
    *out = *v;
    return Status::Ok();
  }
  Status Object(const char* key, json* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_object()) return WrongType(Path(key), "an object");
    *out = *v;
    return Status::Ok();
  }
  Status Duration(const char* key, std::chrono::milliseconds* out) const {
    std::string text;
    RETURN_IF_ERROR(String(key, &text));
    if (text.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(*out, ParseDuration(text, Path(key)));
    if (*out < std::chrono::seconds(1)) {
      return InvalidArgumentError(Path(key) + ": must be at least 1s");
    }
    return Status::Ok();
  }
  Fields Child(const char* key) const {
    const json* v = Find(key);
    static const json kEmpty = json::object();
    return Fields(v != nullptr ? *v : kEmpty, Path(key));
  }
  Status ExpectObject() const {
    if (!object_.is_object()) return WrongType(path_, "an object");
    return Status::Ok();
  }

 private:
  const json& object_;
  std::string path_;
};

Status ParseRole(const Fields& f, const std::string& role, RoleSpec* out) {
  RETURN_IF_ERROR(f.ExpectObject());
  RETURN_IF_ERROR(f.Int32("cores", 1, kMaxCores, &out->cores));
  out->cpu_request_millis = int64_t{out->cores} * 1000;
  std::string text;
  RETURN_IF_ERROR(f.String("coreRequest", &text));
  if (!text.empty()) {
    ASSIGN_OR_RETURN(out->cpu_request_millis, ParseCpuMillis(text, f.Path("coreRequest")));
  }
  text.clear();
  RETURN_IF_ERROR(f.String("coreLimit", &text));
  if (!text.empty()) {
    ASSIGN_OR_RETURN(out->cpu_limit_millis, ParseCpuMillis(text, f.Path("coreLimit")));
    if (out->cpu_limit_millis < out->cpu_request_millis) {
      return InvalidArgumentError(f.Path("coreLimit") + ": " + text +
                                  " is less than the CPU request (" +
                                  FormatCpuMillis(out->cpu_request_millis) + ")");
    }
  }
  text.clear();
  RETURN_IF_ERROR(f.String("memory", &text));
  if (!text.empty()) {
    ASSIGN_OR_RETURN(out->memory_bytes, ParseMemory(text, f.Path("memory")));
  }
  text.clear();
  RETURN_IF_ERROR(f.String("memoryOverhead", &text));
  out->memory_overhead_bytes = DefaultMemoryOverhead(out->memory_bytes);
  if (!text.empty()) {
    ASSIGN_OR_RETURN(out->memory_overhead_bytes, ParseMemory(text, f.Path("memoryOverhead")));
  }
  RETURN_IF_ERROR(f.String("image", &out->image));
  RETURN_IF_ERROR(f.ObjectList("env", {"name"}, &out->env));
  RETURN_IF_ERROR(f.ObjectList("envFrom", {}, &out->env_from));
  RETURN_IF_ERROR(f.StringMap("labels", &out->labels));
  for (const auto& [key, value] : out->labels) {
    if (key.rfind("ember.dev/", 0) == 0) {
      return InvalidArgumentError(f.Path("labels") + "." + key +
                                  ": labels under ember.dev/ are set by the operator");
    }
  }
  RETURN_IF_ERROR(f.StringMap("annotations", &out->annotations));
  RETURN_IF_ERROR(f.ObjectList("volumeMounts", {"name", "mountPath"}, &out->volume_mounts));
  RETURN_IF_ERROR(f.StringMap("nodeSelector", &out->node_selector));
  RETURN_IF_ERROR(f.ObjectList("tolerations", {}, &out->tolerations));
  RETURN_IF_ERROR(f.Object("affinity", &out->affinity));
  RETURN_IF_ERROR(f.String("serviceAccount", &out->service_account));
  RETURN_IF_ERROR(f.Object("podSecurityContext", &out->pod_security_context));
  RETURN_IF_ERROR(f.Object("securityContext", &out->security_context));
  RETURN_IF_ERROR(f.ObjectList("sidecars", {"name", "image"}, &out->sidecars));
  RETURN_IF_ERROR(f.ObjectList("initContainers", {"name", "image"}, &out->init_containers));
  for (const json& c : out->sidecars) {
    if (kube::StringAt(c, "name") == role) {
      return InvalidArgumentError(f.Path("sidecars") + ": the name '" + role +
                                  "' is the " + role + " container's own");
    }
  }
  RETURN_IF_ERROR(f.String("priorityClassName", &out->priority_class_name));
  int64_t grace = -1;
  RETURN_IF_ERROR(f.Int("terminationGracePeriodSeconds", 0, 3600, &grace));
  if (grace >= 0) out->termination_grace_period_seconds = grace;
  RETURN_IF_ERROR(f.String("schedulerName", &out->scheduler_name));
  return Status::Ok();
}

// Mount names the roles use must exist among spec.volumes.
Status CheckMounts(const RoleSpec& role, const json& volumes, const std::string& path) {
  for (const json& mount : role.volume_mounts) {
    const std::string name = kube::StringAt(mount, "name");
    const bool found = std::any_of(volumes.begin(), volumes.end(), [&](const json& v) {
      return kube::StringAt(v, "name") == name;
    });
    if (!found) {
      return InvalidArgumentError(path + ".volumeMounts: volume '" + name +
                                  "' is not among spec.volumes");
    }
  }
  return Status::Ok();
}

}  // namespace

uint64_t DefaultMemoryOverhead(uint64_t memory_bytes) {
  // Rounded up to a MiB, so that pod sizes read "2253Mi" rather than bytes.
  constexpr uint64_t kMiB = 1ull << 20;
  const uint64_t tenth = (memory_bytes / 10 + kMiB - 1) / kMiB * kMiB;
  return std::max(kMinOverhead, tenth);
}

int DefaultMaxFailures(int instances) {
  return std::max(3, 2 * instances);
}

Result<AppSpec> ParseSpec(const json& spec) {
  Fields f(spec, "spec");
  RETURN_IF_ERROR(f.ExpectObject());
  AppSpec out;
  RETURN_IF_ERROR(f.String("image", &out.image));
  RETURN_IF_ERROR(f.String("imagePullPolicy", &out.image_pull_policy));
  if (out.image_pull_policy != "Always" && out.image_pull_policy != "IfNotPresent" &&
      out.image_pull_policy != "Never") {
    return InvalidArgumentError("spec.imagePullPolicy: '" + out.image_pull_policy +
                                "' is not one of Always, IfNotPresent, Never");
  }
  RETURN_IF_ERROR(f.StringList("imagePullSecrets", &out.image_pull_secrets));
  std::string file;
  RETURN_IF_ERROR(f.String("mainApplicationFile", &file));
  if (file.rfind("local://", 0) == 0) file = file.substr(8);
  if (file.empty()) return InvalidArgumentError("spec.mainApplicationFile: required");
  if (file[0] != '/') {
    return InvalidArgumentError("spec.mainApplicationFile: '" + file +
                                "' must be local:///path in the image or an absolute path");
  }
  out.main_application_file = file;
  RETURN_IF_ERROR(f.String("mainClass", &out.main_class));
  RETURN_IF_ERROR(f.StringList("arguments", &out.arguments));
  RETURN_IF_ERROR(f.StringMap("sparkConf", &out.spark_conf));
  RETURN_IF_ERROR(f.ObjectList("volumes", {"name"}, &out.volumes));
  int64_t ttl = -1;
  RETURN_IF_ERROR(f.Int("timeToLiveSeconds", 0, INT64_MAX / 1000, &ttl));
  if (ttl >= 0) out.time_to_live_seconds = ttl;
  RETURN_IF_ERROR(f.Bool("suspend", &out.suspend));

  const Fields monitoring = f.Child("monitoring");
  RETURN_IF_ERROR(monitoring.ExpectObject());
  RETURN_IF_ERROR(monitoring.Bool("exposeDriverMetrics", &out.monitoring.expose_driver_metrics));
  RETURN_IF_ERROR(monitoring.Bool("exposeExecutorMetrics", &out.monitoring.expose_executor_metrics));
  RETURN_IF_ERROR(monitoring.Int32("port", 1024, 65535, &out.monitoring.port));

  RETURN_IF_ERROR(ParseRole(f.Child("driver"), "driver", &out.driver));
  const Fields executor = f.Child("executor");
  RETURN_IF_ERROR(ParseRole(executor, "executor", &out.executor));
  RETURN_IF_ERROR(executor.Int32("instances", 1, kMaxInstances, &out.executor.instances));
  RETURN_IF_ERROR(executor.Bool("deleteOnTermination", &out.executor.delete_on_termination));
  out.executor.max_failures = DefaultMaxFailures(out.executor.instances);
  RETURN_IF_ERROR(executor.Int32("maxFailures", 0, 100000, &out.executor.max_failures));
  if (out.driver.image.empty()) out.driver.image = out.image;
  if (out.executor.image.empty()) out.executor.image = out.image;
  if (out.driver.image.empty()) {
    return InvalidArgumentError("spec.image: required (or spec.driver.image)");
  }
  RETURN_IF_ERROR(CheckMounts(out.driver, out.volumes, "spec.driver"));
  RETURN_IF_ERROR(CheckMounts(out.executor, out.volumes, "spec.executor"));

  const Fields restart = f.Child("restartPolicy");
  RETURN_IF_ERROR(restart.ExpectObject());
  std::string type = "Never";
  RETURN_IF_ERROR(restart.String("type", &type));
  if (type == "Never") {
    out.restart_policy.type = RestartType::kNever;
  } else if (type == "OnFailure") {
    out.restart_policy.type = RestartType::kOnFailure;
  } else if (type == "Always") {
    out.restart_policy.type = RestartType::kAlways;
  } else {
    return InvalidArgumentError("spec.restartPolicy.type: '" + type +
                                "' is not one of Never, OnFailure, Always");
  }
  RETURN_IF_ERROR(restart.Int32("onFailureRetries", 0, 1000, &out.restart_policy.on_failure_retries));
  int64_t seconds = out.restart_policy.on_failure_retry_interval.count();
  RETURN_IF_ERROR(restart.Int("onFailureRetryInterval", 0, 86400, &seconds));
  out.restart_policy.on_failure_retry_interval = std::chrono::seconds(seconds);
  RETURN_IF_ERROR(restart.Int32("onSubmissionFailureRetries", 0, 1000,
                                &out.restart_policy.on_submission_failure_retries));
  seconds = out.restart_policy.on_submission_failure_retry_interval.count();
  RETURN_IF_ERROR(restart.Int("onSubmissionFailureRetryInterval", 0, 86400, &seconds));
  out.restart_policy.on_submission_failure_retry_interval = std::chrono::seconds(seconds);

  const Fields timeouts = f.Child("timeouts");
  RETURN_IF_ERROR(timeouts.ExpectObject());
  RETURN_IF_ERROR(timeouts.Duration("submission", &out.timeouts.submission));
  RETURN_IF_ERROR(timeouts.Duration("driverReady", &out.timeouts.driver_ready));
  RETURN_IF_ERROR(timeouts.Duration("executorStart", &out.timeouts.executor_start));
  RETURN_IF_ERROR(timeouts.Duration("maxRunDuration", &out.timeouts.max_run_duration));
  return out;
}

std::string SpecHash(const json& spec) {
  json copy = spec;
  if (copy.is_object()) {
    copy.erase("suspend");
    copy.erase("timeToLiveSeconds");
  }
  // FNV-1a over the canonical dump (object keys sorted): a change detector,
  // not a security boundary.
  const std::string text = kube::DumpJson(copy);
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace ember::sparkapp
