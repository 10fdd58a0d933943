// Helpers for the operator's tests against the real control plane: the CRD,
// manifests from YAML, ember-operator as a real process, and a stand-in for
// the kubelet that writes pod status the way a kubelet does (phases,
// container states, exit codes, waiting reasons). Nothing here fakes the
// API server: every call goes to the real kube-apiserver.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "operator/kube/client/client.h"
#include "process_runner.h"

namespace ember::kube::testing {

GroupVersionResource SparkApps();

// The one YAML document in `path` as JSON.
nlohmann::json LoadYaml(const std::string& path);

// Creates or replaces the CRD from manifests/crds and waits until it is
// Established. Idempotent.
void InstallCrd(Client* client);

// A minimal valid SparkApplication; `spec` is merge-patched over it.
nlohmann::json App(const std::string& ns, const std::string& name,
                   const nlohmann::json& spec = nlohmann::json::object());

// Flags for a lease short enough that a takeover after a kill fits in a test.
inline const std::vector<std::string> kShortLease = {"--lease-duration=4s", "--renew-deadline=3s"};

// ember-operator, started against the test control plane.
class OperatorProcess {
 public:
  // Watches `ns`; its Lease lives there too, named `lease`.
  OperatorProcess(const std::string& ns, const std::string& lease = "ember-operator",
                  std::vector<std::string> extra_flags = {});
  ~OperatorProcess();
  bool WaitReady(std::chrono::seconds timeout = std::chrono::seconds(60));
  std::string Metrics();
  ember::testing::Process& process() { return *process_; }
  int metrics_port() const { return metrics_port_; }

 private:
  int metrics_port_;
  int health_port_;
  std::unique_ptr<ember::testing::Process> process_;
};

// Writes pod status as a kubelet would.
class FakeKubelet {
 public:
  FakeKubelet(Client* client, std::string ns) : client_(client), ns_(std::move(ns)) {}
  // Running (and Ready, for the driver, unless ready is false).
  void Run(const std::string& pod, bool ready = true);
  // Terminated with `exit_code`; Succeeded when 0, else Failed.
  void Exit(const std::string& pod, int exit_code, const std::string& reason = "",
            const std::string& message = "");
  void Waiting(const std::string& pod, const std::string& reason, const std::string& message);
  void Unschedulable(const std::string& pod, const std::string& message);
  void Evict(const std::string& pod);

 private:
  void Patch(const std::string& pod, const nlohmann::json& status);
  std::string MainContainer(const std::string& pod);
  Client* client_;
  std::string ns_;
};

// The application's status.applicationState.state ("" if none yet).
std::string StateOf(const nlohmann::json& app);
// Polls the application until `predicate` holds; the last object read.
std::optional<nlohmann::json> WaitForApp(Client* client, const std::string& ns,
                                         const std::string& name,
                                         const std::function<bool(const nlohmann::json&)>& predicate,
                                         std::chrono::seconds timeout = std::chrono::seconds(60));
std::optional<nlohmann::json> WaitForState(Client* client, const std::string& ns,
                                           const std::string& name, const std::string& state,
                                           std::chrono::seconds timeout = std::chrono::seconds(60));
// The pods of an application by name, via a live list.
std::vector<nlohmann::json> PodsOf(Client* client, const std::string& ns, const std::string& app);
bool WaitForPods(Client* client, const std::string& ns, const std::string& app,
                 const std::function<bool(const std::vector<nlohmann::json>&)>& predicate,
                 std::chrono::seconds timeout = std::chrono::seconds(60));
std::vector<std::string> PodNames(const std::vector<nlohmann::json>& pods);
// Reasons of the Events about `involved_name` in `ns`.
std::vector<std::string> EventReasons(Client* client, const std::string& ns,
                                      const std::string& involved_name);

}  // namespace ember::kube::testing
