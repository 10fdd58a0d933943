// ember-operator against a real kube-apiserver: the CRD's validation, the
// objects a run creates, every lifecycle transition, timeouts, retries,
// suspend, spec changes, TTL, a killed operator and two competing ones.
// The test plays the kubelet (FakeKubelet) by writing pod status as a
// kubelet does; there is no fake API server.
#include <signal.h>

#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "operator/controller/reconciler.h"
#include "operator/kube/core/json_util.h"
#include "operator/kube/core/time_format.h"
#include "tests/controlplane/controlplane_env.h"
#include "tests/controlplane/operator_harness.h"
#include "tests/controlplane/test_util.h"

namespace ember::kube::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class OperatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto client = ControlPlane::NewClient();
    InstallCrd(client.get());
    // For the every-field test: a pod naming an unknown PriorityClass is
    // refused by admission.
    json pc = {{"apiVersion", "scheduling.k8s.io/v1"},
               {"kind", "PriorityClass"},
               {"metadata", {{"name", "ember-batch"}}},
               {"value", 1000}};
    (void)client->Create({"scheduling.k8s.io", "v1", "priorityclasses", false}, "", pc);
  }

  void SetUp() override {
    client_ = ControlPlane::NewClient();
    ns_ = ControlPlane::CreateNamespace("op");
    kubelet_ = std::make_unique<FakeKubelet>(client_.get(), ns_);
  }

  OperatorProcess& StartOperator(std::vector<std::string> flags = {}) {
    operators_.push_back(std::make_unique<OperatorProcess>(ns_, "ember-operator", std::move(flags)));
    EXPECT_TRUE(operators_.back()->WaitReady()) << operators_.back()->process().Stderr();
    return *operators_.back();
  }

  json Create(const std::string& name, const json& spec = json::object()) {
    auto created = client_->Create(SparkApps(), ns_, App(ns_, name, spec));
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : json();
  }

  void Patch(const std::string& name, const json& spec_patch) {
    auto patched = client_->MergePatch(SparkApps(), ns_, name, {{"spec", spec_patch}});
    ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  }

  json Get(const GroupVersionResource& gvr, const std::string& name) {
    auto got = client_->Get(gvr, ns_, name);
    EXPECT_TRUE(got.ok()) << name << ": " << got.status().ToString();
    return got.ok() ? *got : json();
  }

  bool Gone(const GroupVersionResource& gvr, const std::string& name) {
    return Eventually([&] {
      auto got = client_->Get(gvr, ns_, name);
      return !got.ok() && got.error().IsNotFound();
    });
  }

  // Waits for the submission and starts the driver and `executors` executors.
  void RunPods(const std::string& app, int executors) {
    ASSERT_TRUE(WaitForState(client_.get(), ns_, app, "SUBMITTED"));
    kubelet_->Run(app + "-driver");
    for (int i = 1; i <= executors; ++i) kubelet_->Run(app + "-exec-" + std::to_string(i));
    ASSERT_TRUE(WaitForApp(client_.get(), ns_, app, [&](const json& a) {
      return StateOf(a) == "RUNNING" &&
             IntAt(ObjectAt(ObjectAt(a, "status"), "executors"), "running", 0) == executors;
    }));
  }

  const json& Status(const json& app) { return ObjectAt(app, "status"); }

  std::unique_ptr<Client> client_;
  std::string ns_;
  std::unique_ptr<FakeKubelet> kubelet_;
  std::vector<std::unique_ptr<OperatorProcess>> operators_;
};

// --------------------------------------------------------- validation --

TEST_F(OperatorTest, InvalidManifestsAreRejectedNamingTheField) {
  const std::string dir = ControlPlane::RepoRoot() + "/tests/controlplane/data/invalid";
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string path = entry.path().string();
    json app = LoadYaml(path);
    ASSERT_TRUE(app.is_object()) << path;
    // Each file says which field its error must name.
    const std::string expect = StringAt(ObjectAt(ObjectAt(app, "metadata"), "annotations"), "test.ember.dev/expect");
    ASSERT_FALSE(expect.empty()) << path << " lacks its test.ember.dev/expect annotation";
    app["metadata"]["namespace"] = ns_;
    auto created = client_->Create(SparkApps(), ns_, app);
    ASSERT_FALSE(created.ok()) << path << " was accepted";
    EXPECT_EQ(created.error().http_code, 422) << path << ": " << created.status().ToString();
    EXPECT_NE(created.error().message.find(expect), std::string::npos)
        << path << ": the error does not name " << expect << ":\n" << created.error().message;
    ++cases;
  }
  EXPECT_GE(cases, 10);
}

TEST_F(OperatorTest, DefaultsAreFilledInByTheApiServer) {
  json app = Create("defaults");
  const json& spec = app["spec"];
  EXPECT_EQ(spec["executor"]["instances"], 1);
  EXPECT_EQ(spec["driver"]["memory"], "1g");
  EXPECT_EQ(spec["restartPolicy"]["type"], "Never");
  EXPECT_EQ(spec["timeouts"]["submission"], "5m");
  EXPECT_EQ(spec["timeouts"]["maxRunDuration"], "24h");
  EXPECT_EQ(spec["imagePullPolicy"], "IfNotPresent");
}

// ------------------------------------------------------------ objects --

TEST_F(OperatorTest, EveryFieldReachesTheObjects) {
  StartOperator();
  json spec = LoadYaml(ControlPlane::RepoRoot() + "/manifests/examples/every-field.yaml")["spec"];
  auto created = client_->Create(SparkApps(), ns_, App(ns_, "every", spec));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string uid = StringAt(ObjectAt(*created, "metadata"), "uid");
  ASSERT_TRUE(WaitForPods(client_.get(), ns_, "every", [](const auto& pods) { return pods.size() == 3; }));
  auto owned_by_app = [&](const json& object) {
    const json& ref = object["metadata"]["ownerReferences"][0];
    return ref["kind"] == "SparkApplication" && ref["uid"] == uid && ref["controller"] == true;
  };

  const json secret = Get(resources::Secrets(), "every-secret");
  EXPECT_TRUE(owned_by_app(secret));
  auto token = Base64Decode(StringAt(ObjectAt(secret, "data"), "secret"));
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->size(), 64u);

  const json svc = Get(resources::Services(), "every-driver-svc");
  EXPECT_TRUE(owned_by_app(svc));
  EXPECT_EQ(svc["spec"]["clusterIP"], "None");
  EXPECT_EQ(svc["spec"]["selector"], json({{"ember.dev/app-name", "every"}, {"ember.dev/role", "driver"}}));
  std::set<int> ports;
  for (const json& p : svc["spec"]["ports"]) ports.insert(p["port"].get<int>());
  EXPECT_EQ(ports, (std::set<int>{7078, 4040, 9095}));

  const json driver = Get(resources::Pods(), "every-driver");
  const json executor = Get(resources::Pods(), "every-exec-1");
  for (const json* pod : {&driver, &executor}) {
    const json& s = (*pod)["spec"];
    const json& c = s["containers"][0];
    const bool is_driver = pod == &driver;
    SCOPED_TRACE(is_driver ? "driver" : "executor");
    EXPECT_TRUE(owned_by_app(*pod));
    EXPECT_EQ((*pod)["metadata"]["labels"]["ember.dev/app-name"], "every");
    EXPECT_EQ((*pod)["metadata"]["labels"]["ember.dev/role"], is_driver ? "driver" : "executor");
    EXPECT_EQ((*pod)["metadata"]["labels"]["ember.dev/submission-id"], uid + "-1-1");
    EXPECT_EQ((*pod)["metadata"]["labels"]["team"], "analytics");
    EXPECT_EQ((*pod)["metadata"]["annotations"]["prometheus.io/port"], "9095");
    EXPECT_EQ(c["image"], is_driver ? "ember-driver:every" : "ember-executor:every");
    EXPECT_EQ(c["imagePullPolicy"], "Never");
    EXPECT_EQ(c["command"][0], is_driver ? "ember-driver" : "ember-executor");
    EXPECT_EQ(c["resources"]["requests"]["memory"], is_driver ? "640Mi" : "2304Mi");
    EXPECT_EQ(c["resources"]["limits"]["memory"], c["resources"]["requests"]["memory"]);
    EXPECT_EQ(c["resources"]["requests"]["cpu"], is_driver ? "500m" : "1500m");
    EXPECT_EQ(c["resources"]["limits"]["cpu"], is_driver ? "1" : "2");
    EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"], true);
    EXPECT_EQ(c["securityContext"]["runAsUser"], 10001);
    EXPECT_EQ(s["securityContext"]["fsGroup"], 10001);
    EXPECT_EQ(s["nodeSelector"]["disktype"], "ssd");
    EXPECT_EQ(s["tolerations"][0]["key"], "dedicated");
    EXPECT_TRUE(s["affinity"].contains("nodeAffinity"));
    EXPECT_EQ(s["priorityClassName"], "ember-batch");
    EXPECT_EQ(s["schedulerName"], "default-scheduler");
    EXPECT_EQ(s["terminationGracePeriodSeconds"], 45);
    EXPECT_EQ(s["serviceAccountName"], is_driver ? "ember-driver" : "ember-executor");
    EXPECT_EQ(s["imagePullSecrets"][0]["name"], "registry-credentials");
    EXPECT_EQ(s["restartPolicy"], "Never");
    EXPECT_EQ(s["containers"].size(), 2u) << "the main container and a sidecar";
    EXPECT_EQ(s["containers"][1]["name"], "log-shipper");
    EXPECT_EQ(s["initContainers"][0]["name"], "fetch-config");
    std::set<std::string> volumes;
    for (const json& v : s["volumes"]) volumes.insert(v["name"].get<std::string>());
    EXPECT_EQ(volumes, (std::set<std::string>{"ember-secret", "ember-scratch", "data", "config"}));
    std::map<std::string, std::string> mounts;
    for (const json& m : c["volumeMounts"]) mounts[m["name"].get<std::string>()] = m["mountPath"].get<std::string>();
    EXPECT_EQ(mounts["ember-secret"], "/etc/ember/secret");
    EXPECT_EQ(mounts["data"], "/data");
    std::map<std::string, json> env;
    for (const json& e : c["env"]) env[e["name"].get<std::string>()] = e;
    EXPECT_EQ(env["STAGE"]["value"], "prod");
    EXPECT_EQ(env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP");
    EXPECT_EQ(c["envFrom"][0]["configMapRef"]["name"], "job-settings");
    for (const auto& [name, e] : env) {
      EXPECT_FALSE(e.contains("valueFrom") && e["valueFrom"].contains("secretKeyRef"))
          << "the application secret must not be in the environment";
    }
  }
  const json& args = driver["spec"]["containers"][0]["args"];
  auto has_arg = [&](const std::string& a) { return std::find(args.begin(), args.end(), a) != args.end(); };
  EXPECT_TRUE(has_arg("--master=external[2]"));
  EXPECT_TRUE(has_arg("--class=wordcount"));
  EXPECT_TRUE(has_arg("--conf=ember.task.maxFailures=6"));
  EXPECT_TRUE(has_arg("--metrics-port=9095"));
  EXPECT_EQ(args[args.size() - 3], "/opt/ember/examples/libwordcount.so");
  EXPECT_EQ(args.back(), "/data/out");
  const json& eargs = executor["spec"]["containers"][0]["args"];
  EXPECT_EQ(eargs[0], "--driver=every-driver-svc." + ns_ + ".svc:7078");
  EXPECT_NE(std::find(eargs.begin(), eargs.end(), "--cores=2"), eargs.end());
}

// ---------------------------------------------------------- lifecycle --

TEST_F(OperatorTest, RunToCompletion) {
  OperatorProcess& op = StartOperator();
  Create("pi", {{"executor", {{"instances", 2}}}});
  RunPods("pi", 2);
  auto running = WaitForState(client_.get(), ns_, "pi", "RUNNING");
  ASSERT_TRUE(running);
  EXPECT_EQ(Status(*running)["executionAttempts"], 1);
  EXPECT_EQ(Status(*running)["executors"]["summary"], "2/2");
  EXPECT_EQ(Status(*running)["driverInfo"]["webUIAddress"], "pi-driver-svc." + ns_ + ".svc:4040");
  kubelet_->Exit("pi-exec-1", 0);
  kubelet_->Exit("pi-exec-2", 0);
  kubelet_->Exit("pi-driver", 0);
  auto done = WaitForState(client_.get(), ns_, "pi", "COMPLETED");
  ASSERT_TRUE(done);
  EXPECT_FALSE(Status(*done)["terminationTime"].is_null());
  std::map<std::string, std::string> conditions;
  for (const json& c : Status(*done)["conditions"]) conditions[c["type"]] = c["status"];
  EXPECT_EQ(conditions["Complete"], "True");
  EXPECT_EQ(conditions["Failed"], "False");
  EXPECT_TRUE(WaitForPods(client_.get(), ns_, "pi", [](const auto& pods) {
    return PodNames(pods) == std::vector<std::string>{"pi-driver"};
  })) << "executors removed, the driver kept for its logs";
  EXPECT_TRUE(Gone(resources::Services(), "pi-driver-svc"));
  ASSERT_TRUE(Eventually([&] {
    auto reasons = EventReasons(client_.get(), ns_, "pi");
    return std::count(reasons.begin(), reasons.end(), "SparkApplicationCompleted") == 1;
  }));
  const auto reasons = EventReasons(client_.get(), ns_, "pi");
  for (const char* r : {"SparkApplicationSubmitted", "SparkDriverRunning", "SparkDriverCompleted"}) {
    EXPECT_NE(std::find(reasons.begin(), reasons.end(), r), reasons.end()) << r;
  }
  // What a user sees: the CRD's printer columns.
  auto table = ember::testing::RunProcess(
      {"/usr/bin/kubectl", "--kubeconfig=" + ControlPlane::KubeconfigPath(), "-n", ns_, "get", "sparkapp", "pi"});
  ASSERT_TRUE(table.Exited(0)) << table.Describe();
  EXPECT_EQ(table.out.substr(0, table.out.find('\n')).find("NAME   STATE       ATTEMPTS   EXECUTORS   DRIVER      AGE"), 0u)
      << table.out;
  EXPECT_NE(table.out.find("pi     COMPLETED   1          0/2         pi-driver"), std::string::npos) << table.out;
  const std::string metrics = op.Metrics();
  EXPECT_NE(metrics.find("ember_operator_applications{state=\"COMPLETED\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ember_operator_submissions_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("ember_operator_start_latency_seconds_count 1"), std::string::npos);
  EXPECT_NE(metrics.find("ember_operator_applications_finished_total{state=\"COMPLETED\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("ember_operator_applications_finished_total{state=\"FAILED\"} 0"), std::string::npos)
      << metrics;
}

TEST_F(OperatorTest, FailedDriverIsRetriedAfterItsIntervalThenFails) {
  StartOperator();
  Create("retry", {{"restartPolicy", {{"type", "OnFailure"}, {"onFailureRetries", 1}, {"onFailureRetryInterval", 2}}}});
  RunPods("retry", 1);
  const json first_driver = Get(resources::Pods(), "retry-driver");
  kubelet_->Exit("retry-driver", 1, "Error", "ember-driver: error: job failed: boom");
  auto rerun = WaitForState(client_.get(), ns_, "retry", "PENDING_RERUN");
  ASSERT_TRUE(rerun);
  EXPECT_NE(StringAt(ObjectAt(Status(*rerun), "applicationState"), "errorMessage").find("job failed: boom"),
            std::string::npos);
  // Run 2 gets a driver pod of its own, after the interval.
  ASSERT_TRUE(WaitForPods(client_.get(), ns_, "retry", [&](const auto& pods) {
    for (const json& p : pods) {
      if (p["metadata"]["name"] == "retry-driver" && p["metadata"]["uid"] != first_driver["metadata"]["uid"]) {
        return true;
      }
    }
    return false;
  }));
  const json second_driver = Get(resources::Pods(), "retry-driver");
  EXPECT_EQ(second_driver["metadata"]["labels"]["ember.dev/submission-id"],
            StringAt(ObjectAt(*rerun, "metadata"), "uid") + "-1-2");
  const auto failed_at = ParseTime(StringAt(ObjectAt(Status(*rerun), "applicationState"), "lastTransitionTime"));
  const auto recreated_at = ParseTime(StringAt(second_driver["metadata"], "creationTimestamp"));
  ASSERT_TRUE(failed_at && recreated_at);
  EXPECT_GE(*recreated_at - *failed_at, seconds(1)) << "the rerun waited its interval (2 s, at 1 s resolution)";
  RunPods("retry", 1);
  kubelet_->Exit("retry-driver", 137, "OOMKilled");
  auto failed = WaitForState(client_.get(), ns_, "retry", "FAILED");
  ASSERT_TRUE(failed);
  EXPECT_EQ(Status(*failed)["executionAttempts"], 2);
  EXPECT_EQ(Status(*failed)["applicationState"]["reason"], "OOMKilled");
  EXPECT_NE(Status(*failed)["applicationState"]["errorMessage"].get<std::string>().find("exit code 137"),
            std::string::npos);
}

TEST_F(OperatorTest, FailedExecutorsAreReplacedUpToTheirLimit) {
  StartOperator();
  Create("exec", {{"executor", {{"instances", 1}, {"maxFailures", 1}}}});
  RunPods("exec", 1);
  kubelet_->Exit("exec-exec-1", 137, "OOMKilled");
  ASSERT_TRUE(WaitForPods(client_.get(), ns_, "exec", [](const auto& pods) {
    return PodNames(pods) == std::vector<std::string>{"exec-driver", "exec-exec-2"};
  }));
  auto app = WaitForApp(client_.get(), ns_, "exec", [](const json& a) {
    return IntAt(ObjectAt(ObjectAt(a, "status"), "executors"), "failed", 0) == 1;
  });
  ASSERT_TRUE(app);
  EXPECT_EQ(Status(*app)["recentExecutorFailures"][0]["reason"], "OOMKilled");
  EXPECT_EQ(Status(*app)["recentExecutorFailures"][0]["exitCode"], 137);
  EXPECT_EQ(Status(*app)["executors"]["active"], json::array({2}));
  kubelet_->Evict("exec-exec-2");
  auto failed = WaitForState(client_.get(), ns_, "exec", "FAILED");
  ASSERT_TRUE(failed);
  EXPECT_EQ(Status(*failed)["applicationState"]["reason"], "ExecutorFailures");
  EXPECT_EQ(Status(*failed)["recentExecutorFailures"][1]["reason"], "Evicted");
}

TEST_F(OperatorTest, DeletedExecutorIsReplaced) {
  StartOperator();
  Create("del", {{"executor", {{"instances", 2}}}});
  RunPods("del", 2);
  ASSERT_TRUE(client_->Delete(resources::Pods(), ns_, "del-exec-1").ok());
  ASSERT_TRUE(WaitForPods(client_.get(), ns_, "del", [](const auto& pods) {
    return PodNames(pods) == std::vector<std::string>{"del-driver", "del-exec-2", "del-exec-3"};
  }));
  auto app = WaitForApp(client_.get(), ns_, "del", [](const json& a) {
    return IntAt(ObjectAt(ObjectAt(a, "status"), "executors"), "failed", 0) == 1;
  });
  ASSERT_TRUE(app);
  EXPECT_EQ(Status(*app)["recentExecutorFailures"][0]["reason"], "Deleted");
}

TEST_F(OperatorTest, SubmissionTimeoutReportsTheImagePullReason) {
  OperatorProcess& op = StartOperator();
  // The timeout leaves the fake kubelet time to report the pull failure on a
  // loaded machine; otherwise the reason is the bare SubmissionTimeout.
  Create("pull", {{"timeouts", {{"submission", "8s"}}}});
  ASSERT_TRUE(WaitForState(client_.get(), ns_, "pull", "SUBMITTED"));
  kubelet_->Waiting("pull-driver", "ImagePullBackOff", "Back-off pulling image \"ember-driver:test\"");
  auto waiting = WaitForApp(client_.get(), ns_, "pull", [](const json& a) {
    return StringAt(ObjectAt(ObjectAt(a, "status"), "applicationState"), "reason") == "ImagePullBackOff";
  });
  ASSERT_TRUE(waiting) << "the reason shows while it waits";
  auto failed = WaitForState(client_.get(), ns_, "pull", "SUBMISSION_FAILED");
  ASSERT_TRUE(failed);
  EXPECT_EQ(Status(*failed)["applicationState"]["reason"], "ImagePullBackOff");
  EXPECT_NE(Status(*failed)["applicationState"]["errorMessage"].get<std::string>().find("not running after 8s"),
            std::string::npos);
  EXPECT_TRUE(WaitForPods(client_.get(), ns_, "pull", [](const auto& pods) { return pods.empty(); }));
  const std::string metrics = op.Metrics();
  EXPECT_NE(metrics.find("ember_operator_timeouts_total{timeout=\"submission\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ember_operator_applications_finished_total{state=\"SUBMISSION_FAILED\"} 1"),
            std::string::npos)
      << metrics;
}

TEST_F(OperatorTest, ImageThatIsNeverPulledFailsTheSubmissionAtOnce) {
  StartOperator();
  Create("never", {{"imagePullPolicy", "Never"}});
  ASSERT_TRUE(WaitForState(client_.get(), ns_, "never", "SUBMITTED"));
  kubelet_->Waiting("never-driver", "ErrImageNeverPull", "Container image \"ember-driver:test\" is not present with pull policy of Never");
  auto failed = WaitForState(client_.get(), ns_, "never", "SUBMISSION_FAILED", seconds(20));
  ASSERT_TRUE(failed);
  EXPECT_EQ(Status(*failed)["applicationState"]["reason"], "ErrImageNeverPull");
}

TEST_F(OperatorTest, UnschedulableDriverFailsItsSubmissionWithTheSchedulersMessage) {
  StartOperator();
  Create("big", {{"driver", {{"memory", "512g"}}}, {"timeouts", {{"submission", "8s"}}}});
  ASSERT_TRUE(WaitForState(client_.get(), ns_, "big", "SUBMITTED"));
  kubelet_->Unschedulable("big-driver", "0/1 nodes are available: 1 Insufficient memory.");
  auto failed = WaitForState(client_.get(), ns_, "big", "SUBMISSION_FAILED");
  ASSERT_TRUE(failed);
  EXPECT_EQ(Status(*failed)["applicationState"]["reason"], "Unschedulable");
  EXPECT_NE(Status(*failed)["applicationState"]["errorMessage"].get<std::string>().find("Insufficient memory"),
            std::string::npos);
}

TEST_F(OperatorTest, SubmissionFailureIsRetriedAfterItsInterval) {
  StartOperator();
  Create("subretry", {{"timeouts", {{"submission", "2s"}}},
                      {"restartPolicy", {{"type", "OnFailure"}, {"onSubmissionFailureRetries", 1},
                                         {"onSubmissionFailureRetryInterval", 4}}}});
  ASSERT_TRUE(WaitForState(client_.get(), ns_, "subretry", "SUBMITTED"));
  const json first_driver = Get(resources::Pods(), "subretry-driver");
  auto twice = WaitForApp(client_.get(), ns_, "subretry", [](const json& a) {
    return IntAt(ObjectAt(a, "status"), "submissionAttempts", 0) == 2 && StateOf(a) == "SUBMITTED";
  });
  ASSERT_TRUE(twice);
  const json second_driver = Get(resources::Pods(), "subretry-driver");
  ASSERT_NE(second_driver["metadata"]["uid"], first_driver["metadata"]["uid"]);
  const auto first_at = ParseTime(StringAt(first_driver["metadata"], "creationTimestamp"));
  const auto second_at = ParseTime(StringAt(second_driver["metadata"], "creationTimestamp"));
  ASSERT_TRUE(first_at && second_at);
  // 2 s of submission timeout, then 4 s of interval, at 1 s resolution.
  EXPECT_GE(*second_at - *first_at, seconds(5)) << "the retry did not wait its interval";
  auto failed = WaitForState(client_.get(), ns_, "subretry", "SUBMISSION_FAILED");
  ASSERT_TRUE(failed);
  EXPECT_EQ(Status(*failed)["applicationState"]["reason"], "SubmissionTimeout");
  EXPECT_EQ(Status(*failed)["submissionAttempts"], 2);
}

TEST_F(OperatorTest, DriverThatNeverTurnsReadyFailsTheRun) {
  StartOperator();
  Create("unready", {{"timeouts", {{"driverReady", "2s"}}}});
  ASSERT_TRUE(WaitForState(client_.get(), ns_, "unready", "SUBMITTED"));
  kubelet_->Run("unready-driver", /*ready=*/false);
  auto failed = WaitForState(client_.get(), ns_, "unready", "FAILED");
  ASSERT_TRUE(failed);
  EXPECT_EQ(Status(*failed)["applicationState"]["reason"], "DriverNotReady");
}

TEST_F(OperatorTest, ExecutorThatNeverStartsIsReplaced) {
  StartOperator();
  Create("slowexec", {{"timeouts", {{"executorStart", "8s"}}}});
  ASSERT_TRUE(WaitForState(client_.get(), ns_, "slowexec", "SUBMITTED"));
  kubelet_->Run("slowexec-driver");
  kubelet_->Unschedulable("slowexec-exec-1", "0/1 nodes are available: 1 Insufficient cpu.");
  ASSERT_TRUE(WaitForPods(client_.get(), ns_, "slowexec", [](const auto& pods) {
    const auto names = PodNames(pods);
    return std::find(names.begin(), names.end(), "slowexec-exec-2") != names.end() &&
           std::find(names.begin(), names.end(), "slowexec-exec-1") == names.end();
  }));
  auto app = WaitForApp(client_.get(), ns_, "slowexec", [](const json& a) {
    return IntAt(ObjectAt(ObjectAt(a, "status"), "executors"), "failed", 0) >= 1;
  });
  ASSERT_TRUE(app);
  EXPECT_EQ(Status(*app)["recentExecutorFailures"][0]["reason"], "Unschedulable");
}

TEST_F(OperatorTest, MaxRunDurationStopsTheRun) {
  StartOperator();
  Create("long", {{"timeouts", {{"maxRunDuration", "3s"}}}});
  RunPods("long", 1);
  auto failed = WaitForState(client_.get(), ns_, "long", "FAILED");
  ASSERT_TRUE(failed);
  EXPECT_EQ(Status(*failed)["applicationState"]["reason"], "MaxRunDurationExceeded");
  EXPECT_TRUE(Gone(resources::Pods(), "long-driver")) << "the run was stopped";
}

TEST_F(OperatorTest, SuspendAndResume) {
  StartOperator();
  Create("sus", {{"executor", {{"instances", 2}}}});
  RunPods("sus", 2);
  Patch("sus", {{"suspend", true}});
  auto suspended = WaitForState(client_.get(), ns_, "sus", "SUSPENDED");
  ASSERT_TRUE(suspended);
  EXPECT_TRUE(WaitForPods(client_.get(), ns_, "sus", [](const auto& pods) { return pods.empty(); }));
  Patch("sus", {{"suspend", false}});
  auto resumed = WaitForApp(client_.get(), ns_, "sus", [](const json& a) {
    return StateOf(a) == "SUBMITTED" && IntAt(ObjectAt(a, "status"), "submissionAttempts", 0) == 2;
  });
  ASSERT_TRUE(resumed);
  EXPECT_TRUE(WaitForPods(client_.get(), ns_, "sus", [](const auto& pods) { return pods.size() == 3; }));
}

TEST_F(OperatorTest, SpecChangeOfARunningApplicationRerunsItWithTheNewSpec) {
  StartOperator();
  Create("change");
  RunPods("change", 1);
  Patch("change", {{"arguments", {"1000"}}});
  ASSERT_TRUE(WaitForPods(client_.get(), ns_, "change", [&](const auto& pods) {
    for (const json& p : pods) {
      if (p["metadata"]["name"] == "change-driver" && p["spec"]["containers"][0]["args"].back() == "1000") {
        return true;
      }
    }
    return false;
  }));
  auto rerun = WaitForState(client_.get(), ns_, "change", "SUBMITTED");
  ASSERT_TRUE(rerun);
  EXPECT_EQ(Status(*rerun)["observedGeneration"], 2);
  const auto reasons = EventReasons(client_.get(), ns_, "change");
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "SparkApplicationInvalidated"), reasons.end());
}

TEST_F(OperatorTest, SpecChangeOfACompletedApplicationStartsANewSubmission) {
  StartOperator();
  const json created = Create("again");
  const std::string uid = StringAt(ObjectAt(created, "metadata"), "uid");
  RunPods("again", 1);
  kubelet_->Exit("again-exec-1", 0);
  kubelet_->Exit("again-driver", 0);
  ASSERT_TRUE(WaitForState(client_.get(), ns_, "again", "COMPLETED"));
  Patch("again", {{"arguments", {"7"}}});
  ASSERT_TRUE(WaitForPods(client_.get(), ns_, "again", [&](const auto& pods) {
    for (const json& p : pods) {
      if (p["metadata"]["name"] == "again-driver" && p["spec"]["containers"][0]["args"].back() == "7") return true;
    }
    return false;
  })) << "the completed run's driver is replaced by one with the new spec";
  auto rerun = WaitForState(client_.get(), ns_, "again", "SUBMITTED");
  ASSERT_TRUE(rerun);
  EXPECT_EQ(Status(*rerun)["submissionID"], uid + "-2-1") << "a new submission, under generation 2";
  EXPECT_FALSE(Status(*rerun).contains("terminationTime")) << Status(*rerun).dump();
  for (const json& p : PodsOf(client_.get(), ns_, "again")) {
    EXPECT_EQ(p["metadata"]["labels"]["ember.dev/submission-id"], uid + "-2-1") << p["metadata"]["name"];
  }
  RunPods("again", 1);
  kubelet_->Exit("again-driver", 0);
  EXPECT_TRUE(WaitForState(client_.get(), ns_, "again", "COMPLETED"));
}

TEST_F(OperatorTest, RestartAlwaysRerunsACompletedRun) {
  StartOperator();
  Create("always", {{"restartPolicy", {{"type", "Always"}, {"onFailureRetryInterval", 1}}}});
  RunPods("always", 1);
  const json first_driver = Get(resources::Pods(), "always-driver");
  kubelet_->Exit("always-exec-1", 0);
  kubelet_->Exit("always-driver", 0);
  auto second = WaitForApp(client_.get(), ns_, "always", [](const json& a) {
    return StateOf(a) == "SUBMITTED" && IntAt(ObjectAt(a, "status"), "submissionAttempts", 0) == 2;
  });
  ASSERT_TRUE(second) << "a completed run is followed by another";
  ASSERT_TRUE(WaitForPods(client_.get(), ns_, "always", [&](const auto& pods) {
    for (const json& p : pods) {
      if (p["metadata"]["name"] == "always-driver" && p["metadata"]["uid"] != first_driver["metadata"]["uid"]) {
        return true;
      }
    }
    return false;
  }));
  const auto reasons = EventReasons(client_.get(), ns_, "always");
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "SparkApplicationCompleted"), 0)
      << "Always never ends in COMPLETED";
}

TEST_F(OperatorTest, ExecutorsAreKeptWhenDeleteOnTerminationIsOff) {
  StartOperator();
  Create("keep", {{"executor", {{"instances", 2}, {"deleteOnTermination", false}}}});
  RunPods("keep", 2);
  kubelet_->Exit("keep-exec-1", 0);
  kubelet_->Exit("keep-exec-2", 0);
  kubelet_->Exit("keep-driver", 0);
  ASSERT_TRUE(WaitForState(client_.get(), ns_, "keep", "COMPLETED"));
  // The Service goes at the same point the executors would; once it is gone
  // the executors had their chance to be deleted.
  EXPECT_TRUE(Gone(resources::Services(), "keep-driver-svc"));
  EXPECT_EQ(PodNames(PodsOf(client_.get(), ns_, "keep")),
            (std::vector<std::string>{"keep-driver", "keep-exec-1", "keep-exec-2"}));
}

TEST_F(OperatorTest, TimeToLiveDeletesAFinishedApplication) {
  StartOperator();
  Create("ttl", {{"timeToLiveSeconds", 2}});
  RunPods("ttl", 1);
  kubelet_->Exit("ttl-driver", 0);
  ASSERT_TRUE(WaitForState(client_.get(), ns_, "ttl", "COMPLETED"));
  EXPECT_TRUE(Gone(SparkApps(), "ttl"));
}

// A driver the cache does not show (yet) but the API has must never fail
// its application: the reconciler reads the API before concluding.
TEST_F(OperatorTest, StaleCacheNeverFailsAnApplication) {
  StartOperator();
  Create("stale");
  RunPods("stale", 1);
  operators_.clear();  // the real operator stops; the stale one takes over
  auto app = client_->Get(SparkApps(), ns_, "stale");
  ASSERT_TRUE(app.ok());
  auto shared = std::make_shared<const json>(*app);
  sparkapp::Reconciler reconciler(
      client_.get(),
      sparkapp::Caches{[&](const std::string&) { return shared; },
                       [](const std::string&) { return std::vector<ObjectPtr>{}; }},  // no pods at all
      nullptr, nullptr, {});
  workqueue::Outcome outcome = reconciler.Reconcile(ns_ + "/stale");
  EXPECT_NE(outcome.kind(), workqueue::Outcome::Kind::kRetry) << outcome.error().ToString();
  auto after = client_->Get(SparkApps(), ns_, "stale");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(StateOf(*after), "RUNNING");
  EXPECT_EQ(PodNames(PodsOf(client_.get(), ns_, "stale")),
            (std::vector<std::string>{"stale-driver", "stale-exec-1"}));
}

TEST_F(OperatorTest, RefusedPodFailsTheSubmissionWithTheApiServersMessage) {
  StartOperator();
  // A container port outside 1..65535 passes the CRD (it is a pass-through
  // field) but not pod validation.
  Create("refused", {{"driver", {{"sidecars", {{{"name", "bad"}, {"image", "x"}, {"ports", {{{"containerPort", 70000}}}}}}}}}});
  auto failed = WaitForState(client_.get(), ns_, "refused", "SUBMISSION_FAILED");
  ASSERT_TRUE(failed);
  EXPECT_EQ(Status(*failed)["applicationState"]["reason"], "Invalid");
  const std::string message = Status(*failed)["applicationState"]["errorMessage"];
  EXPECT_NE(message.find("creating pod refused-driver"), std::string::npos) << message;
  EXPECT_NE(message.find("containerPort"), std::string::npos) << message;
  EXPECT_TRUE(WaitForPods(client_.get(), ns_, "refused", [](const auto& pods) { return pods.empty(); }));
}

// --------------------------------------------------- operator failures --

TEST_F(OperatorTest, KilledOperatorCarriesOnWithoutDuplicates) {
  constexpr int kApps = 30;
  std::vector<std::string> flags = kShortLease;
  flags.push_back("--workers=2");
  StartOperator(flags);
  for (int i = 0; i < kApps; ++i) Create("app" + std::to_string(i), {{"executor", {{"instances", 2}}}});
  // Kill it mid-flight: some applications are submitted, some not yet.
  ASSERT_TRUE(Eventually([&] {
    ListOptions options;
    options.label_selector = "ember.dev/role=driver";
    auto pods = client_->ListAll(resources::Pods(), ns_, options);
    return pods.ok() && pods->items.size() >= 5;
  }));
  operators_.back()->process().Signal(SIGKILL);
  operators_.back()->process().Wait();
  operators_.clear();
  StartOperator(kShortLease);
  for (int i = 0; i < kApps; ++i) {
    const std::string name = "app" + std::to_string(i);
    ASSERT_TRUE(WaitForState(client_.get(), ns_, name, "SUBMITTED")) << name;
  }
  auto all = client_->ListAll(resources::Pods(), ns_);
  ASSERT_TRUE(all.ok());
  std::map<std::string, int> per_app;
  for (const json& p : all->items) per_app[StringAt(ObjectAt(ObjectAt(p, "metadata"), "labels"), "ember.dev/app-name")]++;
  EXPECT_EQ(per_app.size(), static_cast<size_t>(kApps));
  for (const auto& [app, n] : per_app) EXPECT_EQ(n, 3) << app << " has " << n << " pods";
  for (int i = 0; i < kApps; ++i) {
    auto app = client_->Get(SparkApps(), ns_, "app" + std::to_string(i));
    ASSERT_TRUE(app.ok());
    EXPECT_EQ(Status(*app)["submissionAttempts"], 1) << "app" << i;
  }
  // States carry on under the new operator.
  RunPods("app0", 2);
  kubelet_->Exit("app0-driver", 0);
  EXPECT_TRUE(WaitForState(client_.get(), ns_, "app0", "COMPLETED"));
}

TEST_F(OperatorTest, OnlyTheLeaderWritesAndTheOtherTakesOver) {
  OperatorProcess& first = StartOperator(kShortLease);
  ASSERT_TRUE(Eventually([&] { return first.Metrics().find("ember_operator_is_leader 1") != std::string::npos; }));
  OperatorProcess& second = StartOperator(kShortLease);
  Create("one");
  ASSERT_TRUE(WaitForState(client_.get(), ns_, "one", "SUBMITTED"));
  const std::string standby = second.Metrics();
  EXPECT_NE(standby.find("ember_operator_is_leader 0"), std::string::npos) << standby;
  for (const char* verb : {"create", "update", "patch", "delete"}) {
    EXPECT_NE(standby.find(std::string("ember_operator_api_requests_total{code=\"2xx\",verb=\"") + verb + "\"} 0"),
              std::string::npos)
        << "the standby wrote (" << verb << ")\n" << standby;
  }
  first.process().Signal(SIGKILL);
  first.process().Wait();
  ASSERT_TRUE(Eventually([&] { return second.Metrics().find("ember_operator_is_leader 1") != std::string::npos; }));
  Create("two");
  ASSERT_TRUE(WaitForState(client_.get(), ns_, "two", "SUBMITTED"));
}

// What Kubernetes sends to a pod being stopped: the operator exits 0 and
// hands its lease back, so a standby need not wait for it to expire.
TEST_F(OperatorTest, SigtermEndsTheOperatorCleanlyAndReleasesItsLease) {
  OperatorProcess& op = StartOperator();
  ASSERT_TRUE(Eventually([&] { return op.Metrics().find("ember_operator_is_leader 1") != std::string::npos; }));
  auto held = client_->Get(resources::Leases(), ns_, "ember-operator");
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  ASSERT_FALSE(StringAt(ObjectAt(*held, "spec"), "holderIdentity").empty());
  op.process().Signal(SIGTERM);
  const ember::testing::ProcessResult exited = op.process().Wait(seconds(30));
  EXPECT_TRUE(exited.Exited(0)) << exited.Describe() << "\n" << op.process().Stderr();
  auto released = client_->Get(resources::Leases(), ns_, "ember-operator");
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_EQ(StringAt(ObjectAt(*released, "spec"), "holderIdentity"), "") << released->dump();
  EXPECT_NE(op.process().Stderr().find("released lease"), std::string::npos) << op.process().Stderr();
}

}  // namespace
}  // namespace ember::kube::testing

namespace ember::kube::testing {
namespace {

// ember-operator's own bad input: flags, no cluster, an unreachable or
// unwelcoming API server. Each ends it with one line naming the problem.
TEST(OperatorCliTest, BadInputEndsItWithAClearError) {
  using ember::testing::RunProcess;
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    int exit_code;
    std::string message;
  };
  const std::string dir = ember::testing::MakeTempDir("ember-opcli");
  struct Cleanup {
    std::string path;
    ~Cleanup() { std::filesystem::remove_all(path); }
  } cleanup{dir};
  const int closed_port = ember::testing::PickFreePort();
  // A kubeconfig naming a port where nothing listens.
  std::string unreachable = ReadFileToString(ControlPlane::KubeconfigPath()).value();
  const size_t at = unreachable.find("https://127.0.0.1:");
  ASSERT_NE(at, std::string::npos);
  const size_t end = unreachable.find('\n', at);
  unreachable.replace(at, end - at, "https://127.0.0.1:" + std::to_string(closed_port));
  ember::testing::WriteFileOrDie(dir + "/unreachable", unreachable);
  // A kubeconfig without credentials: the API server refuses it.
  std::string anonymous = ReadFileToString(ControlPlane::KubeconfigPath()).value();
  anonymous = anonymous.substr(0, anonymous.find("users:")) +
              "users:\n- name: admin\n  user:\n    token: not-a-valid-token\n" +
              anonymous.substr(anonymous.find("contexts:"));
  ember::testing::WriteFileOrDie(dir + "/anonymous", anonymous);
  const std::vector<Case> cases = {
      {{"--workers=0"}, {}, 2, "invalid --workers '0'"},
      {{"--leader-elect=maybe"}, {}, 2, "invalid --leader-elect 'maybe': expected true or false"},
      {{"--namespaces=Bad_NS"}, {}, 2, "invalid --namespaces entry 'Bad_NS'"},
      {{"--lease-duration=soon"}, {}, 2, "--lease-duration: invalid value 'soon'"},
      {{"--metrics-port=70000"}, {}, 2, "invalid --metrics-port '70000'"},
      {{"--log-format=xml"}, {}, 2, "invalid --log-format 'xml'"},
      {{"--bogus"}, {}, 2, "unknown option '--bogus'"},
      {{"stray"}, {}, 2, "unexpected argument 'stray'"},
      {{"--kubeconfig=" + dir + "/missing"}, {}, 1, "no Kubernetes configuration"},
      {{"--kubeconfig=" + dir + "/unreachable", "--startup-timeout=1s", "--metrics-port=-1", "--health-port=-1"},
       {}, 1, "cannot reach the Kubernetes API server at https://127.0.0.1:" + std::to_string(closed_port)},
      {{"--kubeconfig=" + dir + "/anonymous", "--metrics-port=-1", "--health-port=-1"}, {}, 1,
       "the API server at https://127.0.0.1:" + std::to_string(ControlPlane::ApiServerPort()) + " refused the operator's credentials"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {EMBER_OPERATOR_BINARY};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto result = RunProcess(argv, c.env, std::chrono::seconds(60));
    EXPECT_TRUE(result.Exited(c.exit_code)) << c.args[0] << "\n" << result.Describe();
    EXPECT_NE(result.err.find("ember-operator: error: " + c.message), std::string::npos)
        << c.args[0] << "\n" << result.err;
  }
}

}  // namespace
}  // namespace ember::kube::testing
