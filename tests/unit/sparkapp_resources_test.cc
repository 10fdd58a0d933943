// The objects the operator creates: names, labels, owners, command lines,
// resources, mounts and every pass-through field of the spec.
#include "operator/controller/resources.h"

#include <gtest/gtest.h>

namespace ember::sparkapp {
namespace {

using nlohmann::json;

const AppRef kApp{"wc", "jobs", "uid-1"};

AppSpec Parse(const json& spec) {
  auto parsed = ParseSpec(spec);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : AppSpec{};
}

const json& Container(const json& pod, const std::string& name) {
  for (const json& c : pod["spec"]["containers"]) {
    if (c["name"] == name) return c;
  }
  static const json kNone;
  ADD_FAILURE() << "no container " << name;
  return kNone;
}

TEST(ResourcesTest, DriverPodRunsTheDocumentedCommandLine) {
  AppSpec spec = Parse({{"image", "ember-driver:1"},
                        {"mainApplicationFile", "local:///opt/ember/examples/libwordcount.so"},
                        {"arguments", {"/data/in", "/data/out"}},
                        {"sparkConf", {{"ember.task.maxFailures", "2"}}},
                        {"executor", {{"instances", 3}, {"memory", "2g"}}},
                        {"driver", {{"memory", "512m"}, {"memoryOverhead", "128m"}, {"cores", 2}}}});
  const json pod = BuildDriverPod(kApp, spec, "uid-1-1");
  EXPECT_EQ(pod["metadata"]["name"], "wc-driver");
  EXPECT_EQ(pod["metadata"]["labels"]["ember.dev/app-name"], "wc");
  EXPECT_EQ(pod["metadata"]["labels"]["ember.dev/role"], "driver");
  EXPECT_EQ(pod["metadata"]["labels"]["ember.dev/submission-id"], "uid-1-1");
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["uid"], "uid-1");
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_EQ(pod["spec"]["restartPolicy"], "Never");
  const json& c = Container(pod, "driver");
  EXPECT_EQ(c["command"], json::array({"ember-driver"}));
  const json expected_args = json::array({"--master=external[3]", "--app-id=uid-1-1", "--name=wc",
                                          "--bind-address=0.0.0.0", "--port=7078", "--metrics-port=9090",
                                          "--ui-port=4040", "--secret-file=/etc/ember/secret/secret",
                                          "--local-dir=/var/lib/ember/driver",
                                          "--driver-memory=536870912", "--executor-memory=2147483648",
                                          "--termination-log=/dev/termination-log",
                                          "--conf=ember.task.maxFailures=2", "--",
                                          "/opt/ember/examples/libwordcount.so", "/data/in", "/data/out"});
  EXPECT_EQ(c["args"], expected_args);
  EXPECT_EQ(c["resources"]["requests"]["memory"], "640Mi");
  EXPECT_EQ(c["resources"]["limits"]["memory"], "640Mi");
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "2");
  EXPECT_FALSE(c["resources"]["limits"].contains("cpu"));
  EXPECT_EQ(c["readinessProbe"]["tcpSocket"]["port"], 7078);
  EXPECT_EQ(pod["metadata"]["annotations"]["prometheus.io/scrape"], "true");
  EXPECT_EQ(pod["spec"]["automountServiceAccountToken"], false);
  // The secret is a file, never an environment variable.
  for (const json& e : c["env"]) EXPECT_EQ(e.find("valueFrom") == e.end() || !e["valueFrom"].contains("secretKeyRef"), true);
  EXPECT_EQ(pod["spec"]["volumes"][0]["secret"]["secretName"], "wc-secret");
  EXPECT_EQ(c["volumeMounts"][0]["mountPath"], "/etc/ember/secret");
  EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(pod["spec"]["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
}

TEST(ResourcesTest, ExecutorPodFindsTheDriverThroughItsService) {
  AppSpec spec = Parse({{"image", "img"}, {"mainApplicationFile", "/a.so"},
                        {"executor", {{"cores", 4}, {"coreRequest", "3500m"}, {"coreLimit", "4"}}},
                        {"monitoring", {{"exposeExecutorMetrics", false}}}});
  auto pod = BuildExecutorPod(kApp, spec, "uid-1-1", 7, "");
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ((*pod)["metadata"]["name"], "wc-exec-7");
  EXPECT_EQ((*pod)["metadata"]["labels"]["ember.dev/executor-id"], "7");
  const json& c = Container(*pod, "executor");
  EXPECT_EQ(c["command"], json::array({"ember-executor"}));
  const json& args = c["args"];
  EXPECT_EQ(args[0], "--driver=wc-driver-svc.jobs.svc:7078");
  EXPECT_NE(std::find(args.begin(), args.end(), "--advertise-host=$(POD_IP)"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--cores=4"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--metrics-port=-1"), args.end());
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "3500m");
  EXPECT_EQ(c["resources"]["limits"]["cpu"], "4");
  EXPECT_FALSE((*pod)["metadata"].contains("annotations"));
}

TEST(ResourcesTest, ExecutorsGetTheMemoryBudgetFromSparkConf) {
  auto args_of = [](const AppSpec& spec) {
    auto pod = BuildExecutorPod(kApp, spec, "uid-1-1", 1, "img");
    EXPECT_TRUE(pod.ok());
    return Container(*pod, "executor")["args"];
  };
  const json base = {{"image", "img"}, {"mainApplicationFile", "/a.so"}};
  json with = base;
  with["sparkConf"] = {{"ember.memory.budget", "300m"}, {"ember.task.maxFailures", "2"}};
  const json args = args_of(Parse(with));
  EXPECT_NE(std::find(args.begin(), args.end(), "--memory-budget=300m"), args.end()) << args;
  for (const json& a : args_of(Parse(base))) {
    EXPECT_EQ(a.get<std::string>().rfind("--memory-budget", 0), std::string::npos) << a;
  }
}

TEST(ResourcesTest, EveryPodFieldPassesThrough) {
  const json volume = {{"name", "data"}, {"persistentVolumeClaim", {{"claimName", "input"}}}};
  const json toleration = {{"key", "batch"}, {"operator", "Equal"}, {"value", "yes"}, {"effect", "NoSchedule"}};
  const json affinity = {{"nodeAffinity", {{"requiredDuringSchedulingIgnoredDuringExecution",
                                            {{"nodeSelectorTerms", {{{"matchExpressions", {{{"key", "k"}, {"operator", "Exists"}}}}}}}}}}}};
  const json role = {{"env", {{{"name", "A"}, {"value", "1"}}}},
                     {"envFrom", {{{"configMapRef", {{"name", "cm"}}}}}},
                     {"labels", {{"team", "data"}}},
                     {"annotations", {{"note", "x"}}},
                     {"volumeMounts", {{{"name", "data"}, {"mountPath", "/data"}}}},
                     {"nodeSelector", {{"disk", "ssd"}}},
                     {"tolerations", {toleration}},
                     {"affinity", affinity},
                     {"serviceAccount", "runner"},
                     {"podSecurityContext", {{"runAsUser", 1000}, {"fsGroup", 2000}}},
                     {"securityContext", {{"runAsNonRoot", true}}},
                     {"sidecars", {{{"name", "log"}, {"image", "busybox"}}}},
                     {"initContainers", {{{"name", "prep"}, {"image", "busybox"}}}},
                     {"priorityClassName", "batch-high"},
                     {"terminationGracePeriodSeconds", 45},
                     {"schedulerName", "volcano"}};
  AppSpec spec = Parse({{"image", "img"}, {"mainApplicationFile", "/a.so"}, {"imagePullPolicy", "Never"},
                        {"imagePullSecrets", {"regcred"}}, {"volumes", {volume}},
                        {"driver", role}, {"executor", role}});
  const json driver = BuildDriverPod(kApp, spec, "s");
  auto executor = BuildExecutorPod(kApp, spec, "s", 1, "");
  ASSERT_TRUE(executor.ok());
  for (const json* pod : {&driver, static_cast<const json*>(&*executor)}) {
    const json& s = (*pod)["spec"];
    const std::string main = pod == &driver ? "driver" : "executor";
    const json& c = Container(*pod, main);
    EXPECT_EQ(s["volumes"].back(), volume);
    EXPECT_EQ(s["tolerations"][0], toleration);
    EXPECT_EQ(s["affinity"], affinity);
    EXPECT_EQ(s["nodeSelector"]["disk"], "ssd");
    EXPECT_EQ(s["serviceAccountName"], "runner");
    EXPECT_FALSE(s.contains("automountServiceAccountToken"));
    EXPECT_EQ(s["securityContext"]["fsGroup"], 2000);
    EXPECT_EQ(s["imagePullSecrets"][0]["name"], "regcred");
    EXPECT_EQ(s["priorityClassName"], "batch-high");
    EXPECT_EQ(s["terminationGracePeriodSeconds"], 45);
    EXPECT_EQ(s["schedulerName"], "volcano");
    EXPECT_EQ(s["initContainers"][0]["name"], "prep");
    EXPECT_EQ(s["containers"].size(), 2u);
    EXPECT_EQ(c["imagePullPolicy"], "Never");
    EXPECT_EQ(c["securityContext"], json({{"runAsNonRoot", true}}));
    EXPECT_EQ(c["envFrom"][0]["configMapRef"]["name"], "cm");
    EXPECT_EQ(c["volumeMounts"].back()["mountPath"], "/data");
    EXPECT_EQ(c["env"].back()["name"], "A");
    EXPECT_EQ((*pod)["metadata"]["labels"]["team"], "data");
    EXPECT_EQ((*pod)["metadata"]["annotations"]["note"], "x");
  }
}

TEST(ResourcesTest, ServiceAndSecret) {
  AppSpec spec = Parse({{"image", "img"}, {"mainApplicationFile", "/a.so"}});
  const json svc = BuildService(kApp, spec);
  EXPECT_EQ(svc["metadata"]["name"], "wc-driver-svc");
  EXPECT_EQ(svc["spec"]["clusterIP"], "None");
  EXPECT_EQ(svc["spec"]["selector"]["ember.dev/role"], "driver");
  EXPECT_EQ(svc["spec"]["ports"].size(), 3u);
  const json secret = BuildSecret(kApp, "tok");
  EXPECT_EQ(secret["stringData"]["secret"], "tok");
  EXPECT_EQ(secret["metadata"]["ownerReferences"][0]["name"], "wc");
  EXPECT_EQ(DriverAddress(kApp), "wc-driver-svc.jobs.svc:7078");
}

TEST(ResourcesTest, MissingExecutorImageIsAnError) {
  AppSpec spec = Parse({{"driver", {{"image", "d"}}}, {"mainApplicationFile", "/a.so"}});
  auto pod = BuildExecutorPod(kApp, spec, "s", 1, "");
  ASSERT_FALSE(pod.ok());
  EXPECT_NE(pod.status().message().find("--executor-image"), std::string::npos);
  auto with_default = BuildExecutorPod(kApp, spec, "s", 1, "ember-executor:0.1.0");
  ASSERT_TRUE(with_default.ok());
}

}  // namespace
}  // namespace ember::sparkapp
