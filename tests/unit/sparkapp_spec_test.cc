// Parsing what a SparkApplication says: sizes, CPU amounts, durations, the
// spec with its defaults and errors, the status JSON and pod views.
#include <gtest/gtest.h>

#include "operator/controller/app_status.h"
#include "operator/controller/pod_view.h"
#include "operator/controller/spec.h"
#include "operator/controller/units.h"
#include "operator/kube/core/time_format.h"

namespace ember::sparkapp {
namespace {

using nlohmann::json;

TEST(UnitsTest, MemoryInSparkAndKubernetesNotation) {
  const std::vector<std::pair<std::string, uint64_t>> good = {
      {"512m", 512ull << 20}, {"512M", 512ull << 20}, {"512mb", 512ull << 20},
      {"2g", 2ull << 30},     {"2G", 2ull << 30},     {"1024k", 1ull << 20},
      {"1t", 1ull << 40},     {"512Mi", 512ull << 20}, {"2Gi", 2ull << 30},
      {"64Ki", 64ull << 10},
  };
  for (const auto& [text, bytes] : good) {
    auto parsed = ParseMemory(text, "spec.driver.memory");
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status().ToString();
    EXPECT_EQ(*parsed, bytes) << text;
  }
  for (const char* bad : {"", "512", "0m", "-1g", "1.5g", "12x", "2gi", "2GiB", "m", "99999999999999999999g"}) {
    auto parsed = ParseMemory(bad, "spec.driver.memory");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("spec.driver.memory"), std::string::npos);
  }
  EXPECT_EQ(FormatMemory(640ull << 20), "640Mi");
  EXPECT_EQ(FormatMemory(1000), "1000");
}

TEST(UnitsTest, CpuQuantities) {
  const std::vector<std::pair<std::string, int64_t>> good = {
      {"500m", 500}, {"1", 1000}, {"2.5", 2500}, {"0.25", 250}, {".5", 500}, {"1.0", 1000}, {"0.0010", 1}};
  for (const auto& [text, millis] : good) {
    auto parsed = ParseCpuMillis(text, "coreRequest");
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status().ToString();
    EXPECT_EQ(*parsed, millis) << text;
  }
  for (const char* bad : {"", "0", "0m", "abc", "1.", "-1", "1.0005", "2x"}) {
    EXPECT_FALSE(ParseCpuMillis(bad, "coreRequest").ok()) << bad;
  }
  EXPECT_EQ(FormatCpuMillis(2000), "2");
  EXPECT_EQ(FormatCpuMillis(250), "250m");
}

TEST(UnitsTest, GoDurations) {
  using std::chrono::milliseconds;
  const std::vector<std::pair<std::string, int64_t>> good = {
      {"90s", 90'000}, {"5m", 300'000}, {"2h30m", 9'000'000}, {"1.5h", 5'400'000}, {"250ms", 250}};
  for (const auto& [text, ms] : good) {
    auto parsed = ParseDuration(text, "timeouts.submission");
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(parsed->count(), ms) << text;
  }
  for (const char* bad : {"", "5", "forever", "5 m", "m5", "10y", "0s", "-1s", "100000h"}) {
    EXPECT_FALSE(ParseDuration(bad, "timeouts.submission").ok()) << bad;
  }
}

TEST(SpecTest, DefaultsMatchTheCrd) {
  auto spec = ParseSpec({{"image", "img"}, {"mainApplicationFile", "local:///opt/app.so"}});
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->main_application_file, "/opt/app.so");
  EXPECT_EQ(spec->driver.image, "img");
  EXPECT_EQ(spec->executor.image, "img");
  EXPECT_EQ(spec->executor.instances, 1);
  EXPECT_EQ(spec->executor.max_failures, 3);
  EXPECT_TRUE(spec->executor.delete_on_termination);
  EXPECT_EQ(spec->driver.memory_bytes, 1ull << 30);
  EXPECT_EQ(spec->driver.memory_overhead_bytes, 128ull << 20);
  EXPECT_EQ(spec->driver.cpu_request_millis, 1000);
  EXPECT_EQ(spec->image_pull_policy, "IfNotPresent");
  EXPECT_EQ(spec->restart_policy.type, RestartType::kNever);
  EXPECT_EQ(spec->timeouts.submission, std::chrono::minutes(5));
  EXPECT_EQ(spec->timeouts.max_run_duration, std::chrono::hours(24));
  EXPECT_EQ(spec->monitoring.port, 9090);
}

TEST(SpecTest, MemoryPlusOverheadSizesThePod) {
  auto spec = ParseSpec({{"image", "img"},
                         {"mainApplicationFile", "/app.so"},
                         {"executor", {{"memory", "512m"}, {"memoryOverhead", "128m"}, {"instances", 4}}},
                         {"driver", {{"memory", "4g"}}}});
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(FormatMemory(spec->executor.PodMemoryBytes()), "640Mi");
  EXPECT_EQ(FormatMemory(spec->driver.PodMemoryBytes()), "4506Mi");  // 4 GiB + 10%, rounded up
  EXPECT_EQ(spec->executor.max_failures, 8);
}

TEST(SpecTest, ErrorsNameTheField) {
  const json base = {{"image", "img"}, {"mainApplicationFile", "/app.so"}};
  struct Case {
    json patch;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{{"executor", {{"instances", 0}}}}, "spec.executor.instances"},
      {{{"driver", {{"cores", 0}}}}, "spec.driver.cores"},
      {{{"executor", {{"memory", "512"}}}}, "spec.executor.memory"},
      {{{"driver", {{"coreRequest", "lots"}}}}, "spec.driver.coreRequest"},
      {{{"driver", {{"coreRequest", "2"}, {"coreLimit", "1"}}}}, "spec.driver.coreLimit"},
      {{{"restartPolicy", {{"type", "Sometimes"}}}}, "spec.restartPolicy.type"},
      {{{"restartPolicy", {{"onFailureRetries", -1}}}}, "spec.restartPolicy.onFailureRetries"},
      {{{"imagePullPolicy", "Maybe"}}, "spec.imagePullPolicy"},
      {{{"timeToLiveSeconds", -5}}, "spec.timeToLiveSeconds"},
      {{{"mainApplicationFile", "relative.so"}}, "spec.mainApplicationFile"},
      {{{"image", nullptr}}, "spec.image"},
      {{{"timeouts", {{"submission", "forever"}}}}, "spec.timeouts.submission"},
      {{{"executor", {{"labels", {{"ember.dev/role", "x"}}}}}}, "spec.executor.labels"},
      {{{"driver", {{"volumeMounts", {{{"name", "data"}, {"mountPath", "/data"}}}}}}}, "spec.driver.volumeMounts"},
      {{{"executor", {{"env", {{{"value", "no name"}}}}}}}, "spec.executor.env[0].name"},
      {{{"arguments", "not a list"}}, "spec.arguments"},
      {{{"sparkConf", {{"k", 1}}}}, "spec.sparkConf.k"},
  };
  for (const Case& c : cases) {
    json spec = base;
    spec.merge_patch(c.patch);
    auto parsed = ParseSpec(spec);
    ASSERT_FALSE(parsed.ok()) << c.patch.dump();
    EXPECT_NE(parsed.status().message().find(c.field), std::string::npos)
        << c.patch.dump() << " -> " << parsed.status().message();
  }
}

TEST(SpecTest, HashIgnoresInPlaceFields) {
  json spec = {{"image", "img"}, {"mainApplicationFile", "/app.so"}};
  const std::string base = SpecHash(spec);
  json in_place = spec;
  in_place["suspend"] = true;
  in_place["timeToLiveSeconds"] = 30;
  EXPECT_EQ(SpecHash(in_place), base);
  json changed = spec;
  changed["arguments"] = {"1"};
  EXPECT_NE(SpecHash(changed), base);
  EXPECT_EQ(base.size(), 16u);
}

TEST(AppStatusTest, RoundTripsThroughJson) {
  AppStatus s;
  const TimePoint t = *kube::ParseTime("2026-12-01T10:00:00Z");
  s.Transition(AppState::kRunning, "", "", t);
  s.submission_attempts = 2;
  s.execution_attempts = 1;
  s.submission_id = "u-2";
  s.executors.active = {1, 3};
  s.executors.next_id = 4;
  s.executors.running = 2;
  s.executors.requested = 2;
  s.AddFailure({2, "app-exec-2", "uid2", "OOMKilled", "exit code 137", 137, t});
  s.driver_start_time = t;
  s.UpdateConditions(3, t);
  const json j = s.ToJson();
  EXPECT_EQ(j["applicationState"]["state"], "RUNNING");
  EXPECT_EQ(j["executors"]["summary"], "2/2");
  EXPECT_EQ(AppStatus::FromJson(j).ToJson(), j);
}

TEST(AppStatusTest, ToleratesGarbage) {
  AppStatus s = AppStatus::FromJson({{"applicationState", {{"state", "BOGUS"}}}, {"executors", "x"},
                                     {"conditions", {1, 2}}, {"submissionAttempts", "two"}});
  EXPECT_EQ(s.state, AppState::kNew);
  EXPECT_EQ(s.submission_attempts, 0);
  EXPECT_TRUE(s.conditions.empty());
}

TEST(PodViewTest, ReadsKubeletStatusShapes) {
  const json pod = json::parse(R"({
    "metadata": {"name": "pi-exec-3", "uid": "u3", "creationTimestamp": "2026-12-01T10:00:00Z",
                 "managedFields": [{"manager": "ember", "operation": "Update"}],
                 "annotations": {"prometheus.io/scrape": "true"},
                 "labels": {"ember.dev/role": "executor", "ember.dev/executor-id": "3",
                            "ember.dev/submission-id": "s-1"},
                 "ownerReferences": [{"apiVersion": "ember.dev/v1alpha1", "kind": "SparkApplication", "name": "pi", "uid": "a"}]},
    "spec": {"containers": [{"name": "executor", "image": "x"}]},
    "status": {"phase": "Pending",
               "conditions": [{"type": "PodScheduled", "status": "True"}],
               "initContainerStatuses": [],
               "containerStatuses": [
                 {"name": "sidecar", "state": {"running": {"startedAt": "2026-12-01T10:00:01Z"}}},
                 {"name": "executor", "ready": false,
                  "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x\""}}}]}})");
  PodView v = ViewPod(pod, "executor");
  EXPECT_EQ(v.executor_id, 3);
  EXPECT_EQ(v.submission_id, "s-1");
  EXPECT_EQ(v.pending_reason, "ImagePullBackOff");
  EXPECT_EQ(v.pending_message, "Back-off pulling image \"x\"");
  const json trimmed = TrimPod(json(pod));
  EXPECT_FALSE(trimmed.contains("spec"));
  const PodView t = ViewPod(trimmed, "executor");
  EXPECT_EQ(t.pending_reason, v.pending_reason);
  EXPECT_EQ(t.name, v.name);
  EXPECT_FALSE(trimmed["metadata"].contains("managedFields"));
  EXPECT_FALSE(trimmed["metadata"].contains("annotations"));
  EXPECT_EQ(trimmed["metadata"]["ownerReferences"][0]["name"], "pi");
}

TEST(PodViewTest, UnschedulableAndTermination) {
  PodView pending = ViewPod(json::parse(R"({"metadata": {"name": "d"}, "status": {"phase": "Pending",
      "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                      "message": "0/1 nodes are available: 1 Insufficient memory."}]}})"), "driver");
  EXPECT_EQ(pending.pending_reason, "Unschedulable");
  PodView done = ViewPod(json::parse(R"({"metadata": {"name": "d"}, "status": {"phase": "Failed",
      "containerStatuses": [{"name": "driver", "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}})"),
                         "driver");
  EXPECT_TRUE(done.terminated);
  std::string reason;
  EXPECT_EQ(DescribeFailure(done, &reason), "exit code 137 (OOMKilled)");
  EXPECT_EQ(reason, "OOMKilled");
}

TEST(TimeTest, ParsesApiTimestamps) {
  auto t = kube::ParseTime("2026-12-01T10:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(kube::FormatTime(*t), "2026-12-01T10:00:00Z");
  auto micro = kube::ParseTime("2026-12-01T10:00:00.250000Z");
  ASSERT_TRUE(micro);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(*micro - *t).count(), 250);
  auto offset = kube::ParseTime("2026-12-01T11:00:00+01:00");
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, *t);
  for (const char* bad : {"", "2026-12-01", "2026-13-01T10:00:00Z", "2026-12-01T10:00:00", "x026-12-01T10:00:00Z"}) {
    EXPECT_FALSE(kube::ParseTime(bad)) << bad;
  }
}

}  // namespace
}  // namespace ember::sparkapp

#include "operator/controller/compact_cache.h"

namespace ember::sparkapp {
namespace {

TEST(CompactCacheTest, KeepsIdentityOutsideAndTheObjectInside) {
  json app = {{"apiVersion", "ember.dev/v1alpha1"},
              {"kind", "SparkApplication"},
              {"metadata",
               {{"name", "pi"}, {"namespace", "jobs"}, {"uid", "u"}, {"resourceVersion", "7"},
                {"managedFields", json::array({{{"manager", "kubectl"}}})},
                {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", "{...}"}, {"keep", "me"}}}}},
              {"spec", {{"image", "x"}}},
              {"status", {{"applicationState", {{"state", "RUNNING"}}}}}};
  const json cached = CompactApplication(json(app));
  EXPECT_EQ(cached["metadata"]["name"], "pi");
  EXPECT_EQ(cached["metadata"]["resourceVersion"], "7");
  EXPECT_EQ(CachedState(cached), "RUNNING");
  const json back = Expand(cached);
  EXPECT_EQ(back["spec"], app["spec"]);
  EXPECT_EQ(back["status"], app["status"]);
  EXPECT_FALSE(back["metadata"].contains("managedFields"));
  EXPECT_EQ(back["metadata"]["annotations"], json({{"keep", "me"}}));
  EXPECT_EQ(CachedState(CompactApplication({{"metadata", {{"name", "new"}}}})), "NEW");
}

TEST(CompactCacheTest, PodsKnowTheirOwner) {
  json pod = {{"metadata",
               {{"name", "pi-driver"}, {"namespace", "jobs"}, {"uid", "p"}, {"resourceVersion", "9"},
                {"ownerReferences", {{{"apiVersion", "ember.dev/v1alpha1"}, {"kind", "SparkApplication"},
                                      {"name", "pi"}, {"uid", "u"}}}}}},
              {"spec", {{"containers", json::array()}}},
              {"status", {{"phase", "Running"}}}};
  const json cached = CompactPod(json(pod));
  EXPECT_EQ(CachedOwner(cached), "jobs/pi");
  EXPECT_EQ(Expand(cached)["status"]["phase"], "Running");
  EXPECT_FALSE(Expand(cached).contains("spec"));
  pod["metadata"]["ownerReferences"][0]["kind"] = "Job";
  EXPECT_EQ(CachedOwner(CompactPod(std::move(pod))), "");
}

}  // namespace
}  // namespace ember::sparkapp
