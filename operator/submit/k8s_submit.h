// ember-submit --master k8s://...: cluster mode, as spark-submit
// --deploy-mode cluster. It builds a SparkApplication from the command line,
// creates it through the API server, streams the driver's log, and exits with
// the application's outcome. The operator does the rest, exactly as for a
// manifest applied with kubectl.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/flags.h"
#include "ember/status.h"

namespace ember::submit {

// Exit codes of cluster mode.
inline constexpr int kExitCompleted = 0;
inline constexpr int kExitFailed = 1;  // the app failed, or the cluster could not be used
inline constexpr int kExitUsage = 2;   // bad flags, or the API server refused the manifest
inline constexpr int kExitInterrupted = 130;

struct Request {
  std::string server;      // empty: the kubeconfig's; else "https://HOST:PORT"
  std::string kubeconfig;  // empty: $KUBECONFIG, then ~/.kube/config, then in-cluster
  std::string name;
  std::string ns;  // empty: the context's namespace
  std::string image;
  std::string executor_image;
  std::string app_path;  // inside the image; local:// is added when it has no scheme
  std::string main_class;
  std::vector<std::string> arguments;
  std::vector<std::pair<std::string, std::string>> conf;
  std::string driver_memory;
  std::string executor_memory;
  // Pod CPU requests when they should differ from the cores (coreRequest).
  std::string driver_core_request;
  std::string executor_core_request;
  int driver_cores = 1;
  int executor_cores = 1;
  int num_executors = 2;
  bool wait = true;
};

// True for "k8s://" and "k8s://https://..." masters.
bool IsKubernetesMaster(std::string_view master);

// The flags ember-submit takes with a k8s:// master.
std::vector<cli::FlagSpec> KubernetesFlags();

// Parses ember-submit's command line in cluster mode.
Result<Request> ParseRequest(int argc, const char* const* argv);

// The SparkApplication for a request (name and namespace resolved).
nlohmann::json BuildApplication(const Request& request);

// main() of ember-submit when --master is k8s://.
int KubernetesMain(int argc, const char* const* argv);

}  // namespace ember::submit
