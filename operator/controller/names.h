// The names, labels and fixed ports of what the operator creates for a
// SparkApplication. Names are deterministic functions of the application,
// so a reconcile that runs twice, or after an operator restart, finds the
// objects of the first run instead of creating new ones.
//
//   Secret          <app>-secret            the application secret
//   Service         <app>-driver-svc        headless; RPC, UI and metrics ports
//   driver pod      <app>-driver
//   executor pods   <app>-exec-<id>         ids from 1, never reused in a run
//
// The CRD limits application names to 52 characters (DNS labels), so every
// derived name is a valid DNS label too.
//
// Thread-safety: constants and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ember::sparkapp {

inline constexpr std::string_view kGroup = "ember.dev";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kKind = "SparkApplication";
inline constexpr std::string_view kApiVersion = "ember.dev/v1alpha1";

// Labels on every object the operator creates.
inline constexpr std::string_view kAppNameLabel = "ember.dev/app-name";
inline constexpr std::string_view kRoleLabel = "ember.dev/role";  // driver | executor
inline constexpr std::string_view kSubmissionIdLabel = "ember.dev/submission-id";
inline constexpr std::string_view kExecutorIdLabel = "ember.dev/executor-id";
inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kManagedByValue = "ember-operator";
inline constexpr std::string_view kDriverRole = "driver";
inline constexpr std::string_view kExecutorRole = "executor";

// Container names of the driver and executor in their pods.
inline constexpr std::string_view kDriverContainer = "driver";
inline constexpr std::string_view kExecutorContainer = "executor";

inline constexpr int kDriverRpcPort = 7078;
inline constexpr int kShufflePort = 7079;
inline constexpr int kUiPort = 4040;

// Where the Secret and the scratch space are mounted in every pod.
inline constexpr std::string_view kSecretKey = "secret";
inline constexpr std::string_view kSecretMountPath = "/etc/ember/secret";
inline constexpr std::string_view kScratchMountPath = "/var/lib/ember";

inline std::string SecretName(std::string_view app) { return std::string(app) + "-secret"; }
inline std::string ServiceName(std::string_view app) { return std::string(app) + "-driver-svc"; }
inline std::string DriverPodName(std::string_view app) { return std::string(app) + "-driver"; }
inline std::string ExecutorPodName(std::string_view app, int id) {
  return std::string(app) + "-exec-" + std::to_string(id);
}
// The run's identity, deterministic from the application's uid, the spec's
// generation and the submission number under that spec, so a run re-decided
// after a crash keeps its id, and a run of a changed spec (whose submission
// count starts again at 1) never shares one with a run of the old spec.
inline std::string SubmissionId(std::string_view uid, int64_t generation, int submission) {
  return std::string(uid) + "-" + std::to_string(generation) + "-" + std::to_string(submission);
}

}  // namespace ember::sparkapp
