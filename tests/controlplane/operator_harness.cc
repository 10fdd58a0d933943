#include "tests/controlplane/operator_harness.h"

#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

#include "operator/kube/config/yaml_json.h"
#include "operator/kube/core/json_util.h"
#include "operator/kube/core/time_format.h"
#include "tests/controlplane/controlplane_env.h"
#include "tests/controlplane/test_util.h"

namespace ember::kube::testing {
namespace {

using nlohmann::json;

}  // namespace

GroupVersionResource SparkApps() { return {"ember.dev", "v1alpha1", "sparkapplications", true}; }

json LoadYaml(const std::string& path) {
  auto text = ReadFileToString(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  if (!text.ok()) return nullptr;
  auto docs = YamlToJson(*text);
  EXPECT_TRUE(docs.ok()) << path << ": " << docs.status().ToString();
  if (!docs.ok()) return nullptr;
  EXPECT_EQ(docs->size(), 1u) << path;
  return docs->empty() ? json() : (*docs)[0];
}

void InstallCrd(Client* client) {
  const json crd = LoadYaml(ControlPlane::RepoRoot() + "/manifests/crds/ember.dev_sparkapplications.yaml");
  const auto gvr = resources::CustomResourceDefinitions();
  auto existing = client->Get(gvr, "", "sparkapplications.ember.dev");
  if (existing.ok()) {
    json updated = crd;
    updated["metadata"]["resourceVersion"] = ResourceVersionOf(*existing);
    auto put = client->Update(gvr, updated);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  } else {
    auto created = client->Create(gvr, "", crd);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }
  ASSERT_TRUE(Eventually([&] {
    auto got = client->Get(gvr, "", "sparkapplications.ember.dev");
    if (!got.ok()) return false;
    for (const json& c : ObjectAt(*got, "status").value("conditions", json::array())) {
      if (StringAt(c, "type") == "Established" && StringAt(c, "status") == "True") return true;
    }
    return false;
  }));
  // Established can precede the first request that is served; wait for one.
  ASSERT_TRUE(Eventually([&] { return client->List(SparkApps(), "default").ok(); }));
}

json App(const std::string& ns, const std::string& name, const json& spec) {
  json app = {{"apiVersion", "ember.dev/v1alpha1"},
              {"kind", "SparkApplication"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"spec",
               {{"image", "ember-driver:test"},
                {"mainApplicationFile", "local:///opt/ember/examples/libsparkpi.so"},
                {"arguments", {"10"}}}}};
  app["spec"].merge_patch(spec);
  return app;
}

OperatorProcess::OperatorProcess(const std::string& ns, const std::string& lease,
                                 std::vector<std::string> extra_flags)
    : metrics_port_(ember::testing::PickFreePort()), health_port_(ember::testing::PickFreePort()) {
  std::vector<std::string> argv = {EMBER_OPERATOR_BINARY,
                                   "--kubeconfig=" + ControlPlane::KubeconfigPath(),
                                   "--namespaces=" + ns,
                                   "--leader-election-namespace=" + ns,
                                   "--leader-election-id=" + lease,
                                   "--metrics-bind-address=127.0.0.1",
                                   "--metrics-port=" + std::to_string(metrics_port_),
                                   "--health-port=" + std::to_string(health_port_),
                                   // The defaults, so that a renewal slowed by a loaded
                                   // machine never costs the lease; the takeover tests
                                   // pass kShortLease.
                                   "--lease-duration=15s",
                                   "--renew-deadline=10s",
                                   "--retry-period=500ms",
                                   "--log-format=text",
                                   "--log-level=info"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  process_ = std::make_unique<ember::testing::Process>(std::move(argv));
}

OperatorProcess::~OperatorProcess() {
  if (process_->running()) process_->Signal(SIGTERM);
  process_->Wait(std::chrono::seconds(30));
}

namespace {
std::string HttpGetLocal(int port, const std::string& path, int* status) {
  std::string out;
  ember::testing::ProcessResult r = ember::testing::RunProcess(
      {"/usr/bin/curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "5",
       "http://127.0.0.1:" + std::to_string(port) + path},
      {}, std::chrono::seconds(10));
  out = r.out;
  const size_t nl = out.rfind('\n');
  *status = nl == std::string::npos ? 0 : std::atoi(out.c_str() + nl + 1);
  return nl == std::string::npos ? out : out.substr(0, nl);
}
}  // namespace

bool OperatorProcess::WaitReady(std::chrono::seconds timeout) {
  return ember::testing::WaitUntil(
      [&] {
        if (!process_->running()) return true;
        int status = 0;
        HttpGetLocal(health_port_, "/readyz", &status);
        return status == 200;
      },
      timeout) &&
         process_->running();
}

std::string OperatorProcess::Metrics() {
  int status = 0;
  return HttpGetLocal(metrics_port_, "/metrics", &status);
}

std::string FakeKubelet::MainContainer(const std::string& pod) {
  return pod.find("-exec-") != std::string::npos ? "executor" : "driver";
}

void FakeKubelet::Patch(const std::string& pod, const json& status) {
  auto patched = client_->MergePatch(resources::Pods(), ns_, pod, {{"status", status}}, "status");
  ASSERT_TRUE(patched.ok()) << pod << ": " << patched.status().ToString();
}

void FakeKubelet::Run(const std::string& pod, bool ready) {
  const std::string now = FormatTime(std::chrono::system_clock::now());
  Patch(pod, {{"phase", "Running"},
              {"podIP", "10.244.0." + std::to_string(std::hash<std::string>{}(pod) % 200 + 2)},
              {"startTime", now},
              {"conditions",
               {{{"type", "PodScheduled"}, {"status", "True"}},
                {{"type", "Ready"}, {"status", ready ? "True" : "False"}}}},
              {"containerStatuses",
               {{{"name", MainContainer(pod)},
                 {"ready", ready},
                 {"restartCount", 0},
                 {"image", "ember:test"},
                 {"imageID", ""},
                 {"state", {{"running", {{"startedAt", now}}}}}}}}});
}

void FakeKubelet::Exit(const std::string& pod, int exit_code, const std::string& reason,
                       const std::string& message) {
  const std::string now = FormatTime(std::chrono::system_clock::now());
  json terminated = {{"exitCode", exit_code},
                     {"reason", reason.empty() ? (exit_code == 0 ? "Completed" : "Error") : reason},
                     {"startedAt", now},
                     {"finishedAt", now}};
  if (!message.empty()) terminated["message"] = message;
  Patch(pod, {{"phase", exit_code == 0 ? "Succeeded" : "Failed"},
              {"conditions", {{{"type", "Ready"}, {"status", "False"}}}},
              {"containerStatuses",
               {{{"name", MainContainer(pod)},
                 {"ready", false},
                 {"restartCount", 0},
                 {"image", "ember:test"},
                 {"imageID", ""},
                 {"state", {{"terminated", terminated}}}}}}});
}

void FakeKubelet::Waiting(const std::string& pod, const std::string& reason, const std::string& message) {
  Patch(pod, {{"phase", "Pending"},
              {"conditions", {{{"type", "PodScheduled"}, {"status", "True"}}}},
              {"containerStatuses",
               {{{"name", MainContainer(pod)},
                 {"ready", false},
                 {"restartCount", 0},
                 {"image", "ember:test"},
                 {"imageID", ""},
                 {"state", {{"waiting", {{"reason", reason}, {"message", message}}}}}}}}});
}

void FakeKubelet::Unschedulable(const std::string& pod, const std::string& message) {
  Patch(pod, {{"phase", "Pending"},
              {"conditions",
               {{{"type", "PodScheduled"}, {"status", "False"}, {"reason", "Unschedulable"}, {"message", message}}}}});
}

void FakeKubelet::Evict(const std::string& pod) {
  Patch(pod, {{"phase", "Failed"},
              {"reason", "Evicted"},
              {"message", "The node was low on resource: memory."}});
}

std::string StateOf(const json& app) {
  return StringAt(ObjectAt(ObjectAt(app, "status"), "applicationState"), "state");
}

std::optional<json> WaitForApp(Client* client, const std::string& ns, const std::string& name,
                               const std::function<bool(const json&)>& predicate,
                               std::chrono::seconds timeout) {
  json last;
  const bool ok = Eventually(
      [&] {
        auto got = client->Get(SparkApps(), ns, name);
        if (!got.ok()) return false;
        last = *got;
        return predicate(last);
      },
      timeout);
  if (!ok) {
    ADD_FAILURE() << "application " << ns << "/" << name << " never reached the expected state; last:\n"
                  << ObjectAt(last, "status").dump(2);
    return std::nullopt;
  }
  return last;
}

std::optional<json> WaitForState(Client* client, const std::string& ns, const std::string& name,
                                 const std::string& state, std::chrono::seconds timeout) {
  return WaitForApp(client, ns, name, [&](const json& app) { return StateOf(app) == state; }, timeout);
}

std::vector<json> PodsOf(Client* client, const std::string& ns, const std::string& app) {
  ListOptions options;
  options.label_selector = "ember.dev/app-name=" + app;
  auto listed = client->ListAll(resources::Pods(), ns, options);
  EXPECT_TRUE(listed.ok()) << listed.status().ToString();
  if (!listed.ok()) return {};
  return listed->items;
}

bool WaitForPods(Client* client, const std::string& ns, const std::string& app,
                 const std::function<bool(const std::vector<json>&)>& predicate,
                 std::chrono::seconds timeout) {
  std::vector<json> last;
  const bool ok = Eventually(
      [&] {
        last = PodsOf(client, ns, app);
        return predicate(last);
      },
      timeout);
  if (!ok) {
    std::string names;
    for (const auto& n : PodNames(last)) names += n + " ";
    ADD_FAILURE() << "pods of " << app << " never matched; last: " << names;
  }
  return ok;
}

std::vector<std::string> PodNames(const std::vector<json>& pods) {
  std::vector<std::string> names;
  for (const json& p : pods) names.push_back(StringAt(ObjectAt(p, "metadata"), "name"));
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> EventReasons(Client* client, const std::string& ns, const std::string& involved) {
  ListOptions options;
  options.field_selector = "involvedObject.name=" + involved;
  auto listed = client->ListAll(resources::Events(), ns, options);
  std::vector<std::string> reasons;
  if (!listed.ok()) return reasons;
  for (const json& e : listed->items) reasons.push_back(StringAt(e, "reason"));
  return reasons;
}

}  // namespace ember::kube::testing
