// The objects the operator creates for a SparkApplication run: the Secret,
// the headless driver Service, the driver pod and the executor pods.
//
// Every object carries the ember.dev labels and a controller ownerReference
// to the application (so the garbage collector removes it with the
// application, and the operator maps it back). Pods get:
//   - resources from cores, coreRequest, coreLimit, memory and overhead
//     (the memory request equals the limit: memory + overhead);
//   - the Secret mounted as a file, never an environment variable;
//   - an emptyDir for scratch space, so the root filesystem can be
//     read-only;
//   - a restricted-profile security context unless the spec gives its own;
//   - every pod-level field of the spec passed through as written.
// The container command lines are the documented ones of ember-driver and
// ember-executor (docs/binaries.md).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ember/status.h"
#include "operator/controller/spec.h"

namespace ember::sparkapp {

// The application the objects belong to.
struct AppRef {
  std::string name;
  std::string ns;
  std::string uid;
};

nlohmann::json OwnerReference(const AppRef& app);

nlohmann::json BuildSecret(const AppRef& app, std::string_view token);
nlohmann::json BuildService(const AppRef& app, const AppSpec& spec);
nlohmann::json BuildDriverPod(const AppRef& app, const AppSpec& spec,
                              std::string_view submission_id);
// `default_image` is the operator's --executor-image, used when the spec
// names no executor image; kFailedPrecondition when there is none at all.
Result<nlohmann::json> BuildExecutorPod(const AppRef& app, const AppSpec& spec,
                                        std::string_view submission_id, int executor_id,
                                        std::string_view default_image);

// "<service>.<namespace>.svc:7078": where executors find the driver.
std::string DriverAddress(const AppRef& app);
// "<service>.<namespace>.svc:4040".
std::string WebUiAddress(const AppRef& app);

}  // namespace ember::sparkapp
