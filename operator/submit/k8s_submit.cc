#include "operator/submit/k8s_submit.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <thread>

#include "common/flags.h"
#include "common/signal_watcher.h"
#include "operator/kube/client/client.h"
#include "operator/kube/config/config.h"
#include "operator/kube/core/resource.h"

namespace ember::submit {
namespace {

using nlohmann::json;

constexpr int kMaxNameLength = 52;  // the CRD's limit, so derived pod names fit
constexpr int kWatchSeconds = 60;

bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return s.front() != '-' && s.back() != '-';
}

// "libword_count.so" -> "word-count-3fa9c".
std::string NameFromApp(std::string_view path) {
  std::string base(path.substr(
      path.find_last_of('/') == std::string_view::npos ? 0 : path.find_last_of('/') + 1));
  if (base.rfind("lib", 0) == 0) base.erase(0, 3);
  if (auto dot = base.find('.'); dot != std::string::npos) base.erase(dot);
  std::string name;
  for (char c : base) {
    const unsigned char u = static_cast<unsigned char>(c);
    name += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '-';
  }
  while (!name.empty() && name.front() == '-') name.erase(0, 1);
  if (name.size() > kMaxNameLength - 6) name.resize(kMaxNameLength - 6);
  while (!name.empty() && name.back() == '-') name.pop_back();
  if (name.empty()) name = "app";
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof(suffix), "-%05x", static_cast<unsigned>(rd() & 0xfffff));
  return name + suffix;
}

Result<int> IntFlag(const cli::FlagParser& flags, const std::string& name, int fallback, int min,
                    int max) {
  auto v = flags.Get(name);
  if (!v) return fallback;
  ASSIGN_OR_RETURN(int64_t n, cli::ParseIntFlag(name, *v, min, max));
  return static_cast<int>(n);
}

kube::GroupVersionResource SparkApplications() {
  return {"ember.dev", "v1alpha1", "sparkapplications", true};
}

std::string StateOf(const json& app) {
  const json* status = app.contains("status") ? &app["status"] : nullptr;
  if (!status || !status->contains("applicationState")) return "";
  return (*status)["applicationState"].value("state", "");
}

std::string Describe(const json& app) {
  const json& s = app.value("/status/applicationState"_json_pointer, json::object());
  std::string out = s.value("state", "");
  const std::string reason = s.value("reason", "");
  const std::string message = s.value("errorMessage", "");
  if (!reason.empty()) out += " (" + reason + ")";
  if (!message.empty()) out += ": " + message;
  return out;
}

bool Terminal(const std::string& state) {
  return state == "COMPLETED" || state == "FAILED" || state == "SUBMISSION_FAILED";
}

// Streams the driver container's log to stdout on a thread of its own, once
// per driver pod run, so a retried driver's log follows the first.
class LogFollower {
 public:
  LogFollower(kube::Client* client, std::string ns, std::string pod)
      : client_(client), ns_(std::move(ns)), pod_(std::move(pod)) {}
  ~LogFollower() { Stop(); }

  void Start(bool follow) {
    Stop();
    thread_ = std::jthread([this, follow](std::stop_token stop) { Run(follow, stop); });
  }
  // Waits up to `grace` for the server to end the log (the container
  // exited), then cuts it.
  void Finish(std::chrono::milliseconds grace) {
    if (!thread_.joinable()) return;
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (!done_ && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Stop();
  }
  bool started() const { return thread_.joinable(); }

 private:
  void Stop() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
    done_ = false;
  }
  void Run(bool follow, std::stop_token stop) {
    kube::HttpRequest request;
    request.method = "GET";
    request.verb = "get";
    request.path = "/api/v1/namespaces/" + ns_ + "/pods/" + pod_ + "/log";
    request.query = {{"container", "driver"}};
    if (follow) request.query.emplace_back("follow", "true");
    auto end = client_->Stream(
        request, std::chrono::hours(24),
        [](std::string_view data) {
          std::fwrite(data.data(), 1, data.size(), stdout);
          std::fflush(stdout);
          return true;
        },
        stop);
    if (!end.ok() && !stop.stop_requested()) {
      std::fprintf(stderr, "ember-submit: reading the driver's log: %s\n",
                   end.status().message().c_str());
    }
    done_ = true;
  }

  kube::Client* client_;
  std::string ns_;
  std::string pod_;
  std::atomic<bool> done_{false};
  std::jthread thread_;
};

// Asks on the terminal; without one, the application is left running.
bool AskDelete(const std::string& what) {
  if (::isatty(STDIN_FILENO) != 1) return false;
  std::fprintf(stderr, "\nember-submit: interrupted. Delete %s? [y/N] ", what.c_str());
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
}

}  // namespace

std::vector<cli::FlagSpec> KubernetesFlags() {
  return {
      {"master", "k8s://[https://HOST:PORT]", "the cluster; k8s:// alone uses the kubeconfig's"},
      {"kubeconfig", "FILE", "kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)"},
      {"name", "NAME", "SparkApplication name (default: from the application file)"},
      {"namespace", "NS", "namespace (default: the kubeconfig context's)"},
      {"image", "IMAGE", "driver image, holding the application (required)"},
      {"executor-image", "IMAGE", "executor image (default: the operator's default)"},
      {"class", "NAME", "entry point to run; default EMBER_APPLICATION"},
      {"conf", "KEY=VALUE", "configuration property, as sparkConf (repeatable)", true},
      {"driver-memory", "SIZE", "driver memory, e.g. 512m or 1g"},
      {"driver-cores", "N", "driver cores (default 1)"},
      {"driver-request-cores", "CPU", "the driver pod's CPU request when not its cores, e.g. 250m"},
      {"executor-memory", "SIZE", "memory per executor, e.g. 1g"},
      {"executor-request-cores", "CPU", "each executor pod's CPU request, e.g. 500m"},
      {"executor-cores", "N", "cores per executor (default 1)"},
      {"num-executors", "N", "executors (default 2)"},
      {"no-wait", "", "return once the application is accepted"},
      {"help", "", "print this help and exit"},
  };
}

bool IsKubernetesMaster(std::string_view master) {
  return master.rfind("k8s://", 0) == 0;
}

Result<Request> ParseRequest(int argc, const char* const* argv) {
  cli::FlagParser flags("ember-submit", "--master k8s://... --image IMAGE [options] APP [args...]",
                        KubernetesFlags());
  RETURN_IF_ERROR(flags.Parse(argc, argv));
  if (flags.IsSet("help")) return CancelledError(flags.Usage());
  Request r;
  const std::string master = flags.GetOr("master", "");
  if (!IsKubernetesMaster(master)) {
    return InvalidArgumentError("--master must be k8s:// or k8s://https://HOST:PORT, got '" +
                                master + "'");
  }
  r.server = master.substr(6);
  if (!r.server.empty() && r.server.find("://") == std::string::npos) {
    r.server = "https://" + r.server;
  }
  if (!r.server.empty() && r.server.rfind("https://", 0) != 0) {
    return InvalidArgumentError("--master " + master +
                                ": the API server must be reached over https");
  }
  r.kubeconfig = flags.GetOr("kubeconfig", "");
  r.image = flags.GetOr("image", "");
  if (r.image.empty()) {
    return InvalidArgumentError(
        "--image is required with a k8s:// master: the image that holds the application");
  }
  r.executor_image = flags.GetOr("executor-image", "");
  if (flags.positional().empty()) {
    return InvalidArgumentError("name the application: its path inside the image");
  }
  r.app_path = flags.positional()[0];
  r.arguments.assign(flags.positional().begin() + 1, flags.positional().end());
  r.name = flags.GetOr("name", "");
  if (r.name.empty()) {
    r.name = NameFromApp(r.app_path);
  } else if (!IsDnsLabel(r.name)) {
    return InvalidArgumentError("--name '" + r.name +
                                "': lower-case letters, digits and '-', at most 52 characters, "
                                "starting and ending with a letter or digit");
  }
  r.ns = flags.GetOr("namespace", "");
  if (!r.ns.empty() && !IsDnsLabel(r.ns)) {
    return InvalidArgumentError("--namespace '" + r.ns + "' is not a valid namespace name");
  }
  r.main_class = flags.GetOr("class", "");
  for (const std::string& kv : flags.GetAll("conf")) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("--conf '" + kv + "': expected KEY=VALUE");
    }
    r.conf.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  r.driver_memory = flags.GetOr("driver-memory", "");
  r.driver_core_request = flags.GetOr("driver-request-cores", "");
  r.executor_core_request = flags.GetOr("executor-request-cores", "");
  r.executor_memory = flags.GetOr("executor-memory", "");
  ASSIGN_OR_RETURN(r.driver_cores, IntFlag(flags, "driver-cores", 1, 1, 1024));
  ASSIGN_OR_RETURN(r.executor_cores, IntFlag(flags, "executor-cores", 1, 1, 1024));
  ASSIGN_OR_RETURN(r.num_executors, IntFlag(flags, "num-executors", 2, 1, 10000));
  r.wait = !flags.IsSet("no-wait");
  return r;
}

json BuildApplication(const Request& r) {
  json spec = {{"image", r.image},
               {"mainApplicationFile",
                r.app_path.find("://") == std::string::npos ? "local://" + r.app_path : r.app_path},
               {"arguments", r.arguments},
               {"driver", {{"cores", r.driver_cores}}},
               {"executor", {{"cores", r.executor_cores}, {"instances", r.num_executors}}}};
  if (!r.main_class.empty()) spec["mainClass"] = r.main_class;
  if (!r.conf.empty()) {
    json conf = json::object();
    for (const auto& [k, v] : r.conf) conf[k] = v;
    spec["sparkConf"] = conf;
  }
  if (!r.driver_memory.empty()) spec["driver"]["memory"] = r.driver_memory;
  if (!r.executor_memory.empty()) spec["executor"]["memory"] = r.executor_memory;
  if (!r.driver_core_request.empty()) spec["driver"]["coreRequest"] = r.driver_core_request;
  if (!r.executor_core_request.empty()) spec["executor"]["coreRequest"] = r.executor_core_request;
  if (!r.executor_image.empty()) spec["executor"]["image"] = r.executor_image;
  return {{"apiVersion", "ember.dev/v1alpha1"},
          {"kind", "SparkApplication"},
          {"metadata",
           {{"name", r.name},
            {"namespace", r.ns},
            {"labels", {{"app.kubernetes.io/created-by", "ember-submit"}}}}},
          {"spec", spec}};
}

int KubernetesMain(int argc, const char* const* argv) {
  auto parsed = ParseRequest(argc, argv);
  if (!parsed.ok()) {
    if (parsed.status().code() == StatusCode::kCancelled) {  // --help
      std::fputs(parsed.status().message().c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "ember-submit: error: %s\n", parsed.status().message().c_str());
    return kExitUsage;
  }
  Request request = *std::move(parsed);

  auto config = kube::LoadDefaultConfig(request.kubeconfig);
  if (!config.ok()) {
    std::fprintf(stderr, "ember-submit: error: no cluster credentials: %s\n",
                 config.status().message().c_str());
    return kExitFailed;
  }
  if (!request.server.empty()) config->server = request.server;
  if (request.ns.empty()) request.ns = config->default_namespace;
  config->user_agent = "ember-submit/" EMBER_VERSION;
  // Signals go to the watcher thread, which every later thread must not
  // take: block them before any starts.
  SignalWatcher::BlockTerminationSignals();
  auto client = kube::Client::FromConfig(*config);
  if (!client.ok()) {
    std::fprintf(stderr, "ember-submit: error: %s\n", client.status().message().c_str());
    return kExitFailed;
  }
  kube::Client& kc = **client;
  const std::string what = "sparkapplication " + request.ns + "/" + request.name;

  auto created = kc.Create(SparkApplications(), request.ns, BuildApplication(request));
  if (!created.ok()) {
    const kube::ApiError& e = created.error();
    std::fprintf(stderr, "ember-submit: error: creating %s on %s: %s\n", what.c_str(),
                 config->server.c_str(), e.message.c_str());
    if (e.IsAlreadyExists()) {
      std::fprintf(stderr, "ember-submit: choose another --name, or delete it first\n");
    }
    return e.http_code == 422 || e.http_code == 400 ? kExitUsage : kExitFailed;
  }
  std::fprintf(stderr, "ember-submit: %s created\n", what.c_str());
  if (!request.wait) return kExitCompleted;

  std::stop_source interrupt;
  std::atomic<bool> interrupted{false};
  SignalWatcher signals([&](int, int) {
    interrupted = true;
    interrupt.request_stop();
  });

  LogFollower logs(&kc, request.ns, request.name + "-driver");
  std::string last_state;
  json app = *created;
  kube::WatchOptions watch;
  watch.field_selector = "metadata.name=" + request.name;
  watch.timeout_seconds = kWatchSeconds;
  watch.resource_version = app["metadata"].value("resourceVersion", "");
  while (true) {
    const std::string state = StateOf(app);
    if (state != last_state && !state.empty()) {
      if (state == "RUNNING") logs.Start(/*follow=*/true);
      if (!Terminal(state))
        std::fprintf(stderr, "ember-submit: %s %s\n", what.c_str(), state.c_str());
      last_state = state;
    }
    if (Terminal(state)) break;
    auto end = kc.Watch(
        SparkApplications(), request.ns, watch,
        [&](kube::WatchEvent&& event) {
          if (event.type == kube::WatchEventType::kDeleted) {
            app = json::object();
            return false;
          }
          watch.resource_version = event.object["metadata"].value("resourceVersion", "");
          const bool changed = StateOf(event.object) != StateOf(app);
          app = std::move(event.object);
          return !changed;
        },
        interrupt.get_token());
    if (interrupted) break;
    if (app.empty()) {
      std::fprintf(stderr, "ember-submit: %s was deleted\n", what.c_str());
      return kExitFailed;
    }
    if (!end.ok()) {
      // Expired or broken: read the object again and watch from there.
      auto got = kc.Get(SparkApplications(), request.ns, request.name);
      if (!got.ok()) {
        if (got.error().IsNotFound()) {
          std::fprintf(stderr, "ember-submit: %s was deleted\n", what.c_str());
          return kExitFailed;
        }
        std::fprintf(stderr, "ember-submit: error: following %s: %s\n", what.c_str(),
                     got.status().message().c_str());
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      app = *std::move(got);
      watch.resource_version = app["metadata"].value("resourceVersion", "");
    }
  }

  if (interrupted) {
    logs.Finish(std::chrono::milliseconds(0));
    if (AskDelete(what)) {
      auto deleted = kc.Delete(SparkApplications(), request.ns, request.name);
      if (!deleted.ok() && !deleted.error().IsNotFound()) {
        std::fprintf(stderr, "ember-submit: error: deleting %s: %s\n", what.c_str(),
                     deleted.status().message().c_str());
        return kExitFailed;
      }
      std::fprintf(stderr, "ember-submit: %s deleted\n", what.c_str());
    } else {
      std::fprintf(stderr, "ember-submit: %s left running; kubectl delete sparkapp -n %s %s\n",
                   what.c_str(), request.ns.c_str(), request.name.c_str());
    }
    return kExitInterrupted;
  }
  // The driver has ended: the rest of its log, or all of it when the run was
  // too short to be seen RUNNING.
  if (logs.started()) {
    logs.Finish(std::chrono::seconds(5));
  } else {
    logs.Start(/*follow=*/false);
    logs.Finish(std::chrono::seconds(10));
  }
  const std::string state = StateOf(app);
  if (state == "COMPLETED") {
    std::fprintf(stderr, "ember-submit: %s COMPLETED\n", what.c_str());
    return kExitCompleted;
  }
  std::fprintf(stderr, "ember-submit: %s %s\n", what.c_str(), Describe(app).c_str());
  return kExitFailed;
}

}  // namespace ember::submit
