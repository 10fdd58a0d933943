// The driver and executors as separate processes started by the test
// (external[N] mode, as the Kubernetes operator runs them): the shared-secret
// check between them, losing an executor in the middle of a job,
// exactly-once output, pods starting in any order, SIGTERM, and the
// driver's /metrics endpoint while a job runs.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "external_cluster.h"

namespace ember::testing {
namespace {

namespace fs = std::filesystem;

// ------------------------------------------------------- authentication --

TEST(ClusterAuthTest, ExecutorWithWrongSecretIsRefusedAndRightOneRunsTheJob) {
  ExternalCluster cluster("it-auth", 1, {}, {"numbers", "0", "1000", "1", "4"});
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();

  ProcessResult refused = RunProcess(
      cluster.ExecutorArgv(*port, "1", "--secret=not-the-application-secret"), {}, kStartupWait);
  EXPECT_FALSE(refused.timed_out) << refused.Describe();
  EXPECT_NE(refused.exit_code, 0) << refused.Describe();
  EXPECT_NE(refused.err.find("UNAUTHENTICATED"), std::string::npos) << refused.Describe();
  ASSERT_TRUE(cluster.driver().running())
      << "a refused executor must not end the application\n"
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();

  Process& executor = cluster.StartExecutor(*port, "1");
  ProcessResult driver = cluster.driver().Wait();
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  AppOutput out = ParseAppOutput(driver.out);
  int64_t sum = 0;
  for (int64_t v = 0; v < 1000; ++v) sum += v;
  EXPECT_EQ(out.Scalar("count"), "1000");
  EXPECT_EQ(out.Scalar("sum"), std::to_string(sum));
  ProcessResult exec = executor.Wait();
  EXPECT_TRUE(exec.Exited(0)) << exec.Describe();
}

// ------------------------------------------------------- executor loss --

// Which phase of the job is running when one of the two executors is killed.
enum class KillDuring { kMapStage, kReduceStage };

void PrintTo(KillDuring k, std::ostream* os) {
  *os << (k == KillDuring::kMapStage ? "map stage" : "reduce stage");
}

class ExecutorLossTest : public ::testing::TestWithParam<KillDuring> {};

TEST_P(ExecutorLossTest, JobCompletesOnTheRemainingExecutor) {
  constexpr int64_t kRecords = 4000;
  constexpr int kSlices = 8;
  TempDir markers("ember-markers");
  // 500 records of 1 ms per map task; 0.4 s per reduce task: each phase
  // spans several tasks per executor, so there is a "middle" to kill in.
  ExternalCluster cluster("it-loss", 2, {},
                          {"slow", std::to_string(kRecords), std::to_string(kSlices), "1000",
                           "400000", markers.path()});
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  Process& survivor = cluster.StartExecutor(*port, "1");
  Process& victim = cluster.StartExecutor(*port, "2");
  const std::string victim_prefix_map = "map-" + std::to_string(victim.pid()) + "-";
  const std::string victim_prefix_reduce = "reduce-" + std::to_string(victim.pid()) + "-";

  // Map stage: once the victim has started its second map task, its first
  // map output exists and must be recomputed after the kill. Reduce stage:
  // the victim holds map outputs the remaining reduce tasks still need.
  const bool reached = WaitUntil([&] {
    if (!cluster.driver().running()) return true;
    return GetParam() == KillDuring::kMapStage
               ? CountMarkers(markers.path(), victim_prefix_map) >= 2
               : CountMarkers(markers.path(), victim_prefix_reduce) >= 1;
  });
  ASSERT_TRUE(reached);
  ASSERT_TRUE(cluster.driver().running())
      << "the job ended before the executor could be killed\n"
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  ASSERT_EQ(::kill(victim.pid(), SIGKILL), 0);
  ProcessResult killed = victim.Wait();
  EXPECT_EQ(killed.term_signal, SIGKILL) << killed.Describe();

  ProcessResult driver = cluster.driver().Wait();
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  std::map<int64_t, int64_t> expected;
  for (int64_t v = 0; v < kRecords; ++v) expected[v % 16] += v;
  std::map<int64_t, int64_t> actual;
  for (const auto& r : ParseAppOutput(driver.out).records) {
    ASSERT_EQ(r.size(), 2u);
    ASSERT_TRUE(actual.emplace(std::stoll(r[0]), std::stoll(r[1])).second) << "key twice: " << r[0];
  }
  EXPECT_EQ(actual, expected);
  EXPECT_NE(driver.err.find("executor 2 lost"), std::string::npos) << driver.Describe();
  ProcessResult rest = survivor.Wait();
  EXPECT_TRUE(rest.Exited(0)) << rest.Describe();
}

INSTANTIATE_TEST_SUITE_P(Phases, ExecutorLossTest,
                         ::testing::Values(KillDuring::kMapStage, KillDuring::kReduceStage),
                         [](const auto& info) {
                           return info.param == KillDuring::kMapStage ? "MapStage" : "ReduceStage";
                         });

// ------------------------------------------------ exactly-once output --

TEST(ExactlyOnceOutputTest, KillNineDuringSaveLeavesOneCompleteCopyOfEveryPart) {
  constexpr int64_t kRecords = 4000;
  constexpr int kSlices = 8;
  TempDir work("ember-save");
  const std::string out = work.path() + "/out";
  // 500 records of 2 ms per part: each executor writes several parts in
  // turn, and the victim is killed in the middle of one.
  ExternalCluster cluster(
      "it-save-kill", 2, {},
      {"save", std::to_string(kRecords), std::to_string(kSlices), "2000", work.path(), out, "-1"});
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  Process& survivor = cluster.StartExecutor(*port, "1");
  Process& victim = cluster.StartExecutor(*port, "2");
  const std::string victim_marks = "save-" + std::to_string(victim.pid()) + "-";
  // 10 marks a part: past 13, the victim has committed a part (or is
  // committing it) and is writing its next one.
  ASSERT_TRUE(WaitUntil([&] {
    return CountMarkers(work.path(), victim_marks) >= 13 || !cluster.driver().running();
  }));
  ASSERT_TRUE(cluster.driver().running())
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  ASSERT_EQ(::kill(victim.pid(), SIGKILL), 0);
  EXPECT_EQ(victim.Wait().term_signal, SIGKILL);

  ProcessResult driver = cluster.driver().Wait();
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  EXPECT_EQ(ParseAppOutput(driver.out).Scalar("saved"), "yes") << driver.Describe();
  EXPECT_TRUE(fs::is_regular_file(out + "/_SUCCESS"));
  EXPECT_FALSE(fs::exists(out + "/_temporary"));
  const auto parts = ReadOutput(out);
  ASSERT_EQ(parts.size(), static_cast<size_t>(kSlices));
  // Every record exactly once, each part one contiguous run.
  std::vector<int> seen(kRecords, 0);
  for (const auto& [name, lines] : parts) {
    ASSERT_FALSE(lines.empty()) << name;
    for (size_t i = 0; i < lines.size(); ++i) {
      const int64_t v = std::stoll(lines[i]);
      ASSERT_TRUE(v >= 0 && v < kRecords) << name << ": " << lines[i];
      ++seen[static_cast<size_t>(v)];
      EXPECT_EQ(v, std::stoll(lines[0]) + static_cast<int64_t>(i)) << name << " is not whole";
    }
  }
  for (int64_t v = 0; v < kRecords; ++v)
    ASSERT_EQ(seen[static_cast<size_t>(v)], 1) << "record " << v;
  EXPECT_NE(driver.err.find("executor 2 lost"), std::string::npos) << driver.Describe();
  EXPECT_TRUE(survivor.Wait().Exited(0));
}

TEST(ExactlyOnceOutputTest, FailedJobRemovesItsOutputAndStopsEveryTask) {
  TempDir work("ember-save");
  const std::string out = work.path() + "/out";
  const std::string hold = work.path() + "/release";
  // Record 100 (part 0) always throws; the other parts take 20 s (5,000
  // records at 4 ms), longer than the 10 s the driver waits at most for
  // killed attempts, so they are running when the job fails and only a kill
  // stops them in time. The grace is long so that a slow acknowledgement on a
  // loaded machine is still awaited rather than given up on.
  ExternalCluster cluster("it-save-fail", 2, {"--conf", "ember.task.killGraceMs=10000"},
                          {"save", "40000", "8", "4000", work.path(), out, "100", hold});
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  std::vector<Process*> executors;
  std::vector<int> metrics_ports;
  for (const std::string id : {"1", "2"}) {
    executors.push_back(&cluster.StartExecutor(*port, id, {"--metrics-port", "0"}));
    const auto mport = MetricsPort(*executors.back());
    ASSERT_TRUE(mport.has_value()) << executors.back()->Stderr();
    metrics_ports.push_back(*mport);
  }
  ASSERT_TRUE(WaitUntil([&] {
    return cluster.driver().Stdout().find("save_error") != std::string::npos ||
           !cluster.driver().running();
  }));
  ASSERT_TRUE(cluster.driver().running())
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  const std::string error = ParseAppOutput(cluster.driver().Stdout()).Scalar("save_error");
  EXPECT_NE(error.find("record 100 is cursed"), std::string::npos) << error;
  EXPECT_NE(error.find("failed 4 times"), std::string::npos) << error;
  // The job has failed and its output is gone.
  EXPECT_FALSE(fs::exists(out)) << "a failed job left output behind";

  // The failure reaches the program only once the killed attempts said they
  // stopped (or the grace passed), and an executor lowers its gauge before
  // it reports: so no waiting here.
  for (int mport : metrics_ports) {
    const std::optional<double> running =
        MetricValue(HttpGet(mport, "/metrics").body, "ember_tasks_running");
    EXPECT_EQ(running, std::optional<double>(0))
        << "executor on metrics port " << mport << " still runs tasks of the failed job";
  }
  // A running part leaves a marker every 50 records (200 ms): none appears
  // once the job has failed, and no part file or temporary either.
  const size_t marks = CountMarkers(work.path(), "save-");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(CountMarkers(work.path(), "save-"), marks) << "tasks kept running after the job failed";

  WriteFileOrDie(hold, "");
  ProcessResult driver = cluster.driver().Wait();
  EXPECT_TRUE(driver.Exited(0)) << driver.Describe();
  EXPECT_FALSE(fs::exists(out));
  for (Process* e : executors) EXPECT_TRUE(e->Wait().Exited(0)) << e->Wait().Describe();
}

// An executor whose driver dies stops its running tasks and exits, rather
// than finishing work that nobody will use while holding its pod.
TEST(ClusterLifecycleTest, AnExecutorWhoseDriverDiesStopsItsTasksAndExits) {
  TempDir work("ember-orphan");
  // Parts of 5,000 records at 4 ms: 20 s each, checked every 64 records.
  ExternalCluster cluster("it-orphan", 1, {},
                          {"save", "40000", "8", "4000", work.path(), work.path() + "/out", "-1"});
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  Process& executor = cluster.StartExecutor(*port, "1");
  ASSERT_TRUE(
      WaitUntil([&] { return CountMarkers(work.path(), "save-") > 0 || !executor.running(); }));
  ASSERT_TRUE(executor.running()) << executor.Wait().Describe();
  cluster.driver().Signal(SIGKILL);
  cluster.driver().Wait();
  // Far less than the 20 s the running part would still take.
  const ProcessResult exited = executor.Wait(std::chrono::seconds(10));
  EXPECT_FALSE(exited.timed_out) << "the executor kept running its task after its driver died";
  EXPECT_EQ(exited.exit_code, 1) << exited.Describe();
  EXPECT_NE(exited.err.find("driver"), std::string::npos) << exited.Describe();
}

// ------------------------------------------- pods start in any order --

TEST(ClusterLifecycleTest, ExecutorStartedBeforeItsDriverWaitsForIt) {
  const int port = PickFreePort();
  TempDir dir("ember-early");
  WriteFileOrDie(dir / "secret", "integration-secret-it-early");
  // The executor comes first and finds nothing listening.
  Process executor({Bin("ember-executor"), "--driver", "127.0.0.1:" + std::to_string(port),
                    "--executor-id", "1", "--app-id", "it-early", "--secret-file", dir / "secret",
                    "--local-dir", dir / "executor", "--log-level", "info"});
  ASSERT_TRUE(WaitUntil(
      [&] {
        return executor.Stderr().find("not reachable yet") != std::string::npos ||
               !executor.running();
      },
      kStartupWait));
  ASSERT_TRUE(executor.running()) << executor.Wait(std::chrono::seconds(1)).Describe();
  ProcessResult driver =
      RunProcess({Bin("ember-driver"), "--master", "external[1]", "--app-id", "it-early",
                  "--secret-file", dir / "secret", "--port", std::to_string(port), "--local-dir",
                  dir / "driver", EMBER_OPS_APP, "numbers", "0", "100", "1", "4"});
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  EXPECT_EQ(ParseAppOutput(driver.out).Scalar("count"), "100");
  ProcessResult exec = executor.Wait();
  EXPECT_TRUE(exec.Exited(0)) << exec.Describe();
}

TEST(ClusterLifecycleTest, ExecutorGivesUpOnAnUnreachableDriverAfterItsTimeout) {
  const int port = PickFreePort();
  TempDir dir("ember-early");
  WriteFileOrDie(dir / "secret", "s");
  ProcessResult executor = RunProcess(
      {Bin("ember-executor"), "--driver", "127.0.0.1:" + std::to_string(port), "--executor-id", "1",
       "--app-id", "it-never", "--secret-file", dir / "secret", "--local-dir", dir / "executor",
       "--registration-timeout", "2s", "--termination-log", dir / "termination-log"},
      {}, kStartupWait);
  ASSERT_TRUE(executor.Exited(1)) << executor.Describe();
  const auto errors = ErrorLines(executor.err);
  ASSERT_EQ(errors.size(), 1u) << executor.Describe();
  EXPECT_NE(errors[0].find("registering with the driver at 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << errors[0];
  EXPECT_NE(errors[0].find(" attempts over "), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("UNAVAILABLE"), std::string::npos) << errors[0];
  EXPECT_EQ(ReadFileOrEmpty(dir / "termination-log"), errors[0] + "\n");
}

// ----------------------------------------------- application download --

TEST(ClusterLifecycleTest, ExecutorLoadsTheApplicationFromAPrivateDirectory) {
  TempDir markers("ember-markers");
  ExternalCluster cluster("it-download", 1, {},
                          {"slow", "400", "2", "1000", "200000", markers.path()});
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  Process& executor = cluster.StartExecutor(*port, "1");
  ASSERT_TRUE(WaitUntil([&] {
    return executor.Stderr().find("application loaded") != std::string::npos || !executor.running();
  }));
  const std::string local = cluster.dir() / "executor-1";
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(local)) {
    if (e.path().filename().string().rfind("app-", 0) == 0) dirs.push_back(e.path());
  }
  ASSERT_EQ(dirs.size(), 1u);
  EXPECT_EQ(fs::status(dirs[0]).permissions() & fs::perms::all, fs::perms::owner_all)
      << "the download directory is readable by others";
  const fs::path lib = dirs[0] / "app.so";
  ASSERT_TRUE(fs::is_regular_file(fs::symlink_status(lib)));
  EXPECT_EQ(fs::status(lib).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_exec);
  EXPECT_EQ(ReadFileOrEmpty(lib), ReadFileOrEmpty(EMBER_OPS_APP));

  ProcessResult driver = cluster.driver().Wait();
  EXPECT_TRUE(driver.Exited(0)) << driver.Describe();
  EXPECT_TRUE(executor.Wait().Exited(0));
  EXPECT_FALSE(fs::exists(dirs[0])) << "the download outlived the executor";
}

// ------------------------------------------------------------- freeing --

bool AnyShuffleFiles(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return false;
    if (it->path().filename().string().rfind("map-", 0) == 0) return true;
  }
  return false;
}

// A broadcast is held once on the driver, however many executors fetch it
// at the same time: four fetches of 128 MiB must not cost four copies.
TEST(ClusterLifecycleTest, ABroadcastIsHeldOnceHoweverManyExecutorsFetchIt) {
  constexpr int64_t kMiB = 1 << 20;
  constexpr int64_t kSize = 128 * kMiB;
  TempDir work("ember-bigcast");
  const std::string hold = work.path() + "/hold";
  ExternalCluster cluster("it-bigcast", 4, {}, {"bigcast", "128", hold});
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  std::vector<Process*> executors;
  for (const std::string id : {"1", "2", "3", "4"})
    executors.push_back(&cluster.StartExecutor(*port, id));
  ASSERT_TRUE(WaitUntil([&] {
    return cluster.driver().Stdout().find("held") != std::string::npos ||
           !cluster.driver().running();
  }));
  ASSERT_TRUE(cluster.driver().running())
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  EXPECT_EQ(ParseAppOutput(cluster.driver().Stdout()).Scalar("total"), std::to_string(8 * kSize));
  const auto peak = ProcessMemoryBytes(cluster.driver().pid(), "VmHWM");
  ASSERT_TRUE(peak.has_value());
  ::testing::Test::RecordProperty("driver_peak_mib", std::to_string(*peak / kMiB));
  // The program's string and the encoded value are two copies; a copy per
  // fetch would add four more.
  EXPECT_LT(*peak, 4 * kSize) << "the driver peaked at " << *peak / kMiB << " MiB serving a "
                              << kSize / kMiB << " MiB broadcast to 4 executors";
  WriteFileOrDie(hold, "");
  EXPECT_TRUE(cluster.driver().Wait().Exited(0));
  for (Process* e : executors) EXPECT_TRUE(e->Wait().Exited(0)) << e->Wait().Describe();
}

TEST(ClusterLifecycleTest, WhatTheProgramCanNoLongerUseIsFreedEverywhere) {
  TempDir work("ember-release");
  const std::string step1 = work.path() + "/step1";
  const std::string step2 = work.path() + "/step2";
  ExternalCluster cluster("it-release", 2, {"--metrics-port", "0"}, {"release", step1, step2});
  const auto metrics_port = cluster.WaitForLogNumber("metrics at http://127.0.0.1:");
  ASSERT_TRUE(metrics_port.has_value())
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value());
  cluster.StartExecutor(*port, "1");
  cluster.StartExecutor(*port, "2");
  ASSERT_TRUE(WaitUntil([&] {
    return cluster.driver().Stdout().find("held") != std::string::npos ||
           !cluster.driver().running();
  }));
  ASSERT_TRUE(cluster.driver().running())
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  // The job ran after the program dropped its own handle: the RDD kept the
  // broadcast alive.
  AppOutput out = ParseAppOutput(cluster.driver().Stdout());
  EXPECT_EQ(out.Scalar("count"), "8");
  int64_t sum = 0;
  for (int64_t v = 0; v < 1000; ++v) sum += v + (1 << 20);
  EXPECT_EQ(out.Scalar("sum"), std::to_string(sum));
  auto broadcast_bytes = [&] {
    return MetricValue(HttpGet(*metrics_port, "/metrics").body, "ember_broadcast_bytes");
  };
  EXPECT_GE(broadcast_bytes().value_or(0), 1 << 20);
  EXPECT_TRUE(AnyShuffleFiles(cluster.dir() / "executor-1") ||
              AnyShuffleFiles(cluster.dir() / "executor-2"));

  WriteFileOrDie(step1, "");
  ASSERT_TRUE(WaitUntil([&] {
    return cluster.driver().Stdout().find("released") != std::string::npos ||
           !cluster.driver().running();
  }));
  EXPECT_TRUE(
      WaitUntil([&] { return broadcast_bytes().value_or(-1) == 0; }, std::chrono::seconds(30)))
      << "the driver still holds " << broadcast_bytes().value_or(-1) << " broadcast bytes";
  EXPECT_TRUE(WaitUntil(
      [&] {
        return !AnyShuffleFiles(cluster.dir() / "executor-1") &&
               !AnyShuffleFiles(cluster.dir() / "executor-2");
      },
      std::chrono::seconds(30)))
      << "shuffle files outlived every RDD that could read them";
  WriteFileOrDie(step2, "");
  ProcessResult driver = cluster.driver().Wait();
  EXPECT_TRUE(driver.Exited(0)) << driver.Describe();
}

// ------------------------------------------------------------- SIGTERM --

TEST(ClusterLifecycleTest, SigtermedExecutorHandsBackItsWorkAndExitsZero) {
  constexpr int64_t kRecords = 4000;
  TempDir markers("ember-markers");
  ExternalCluster cluster(
      "it-term", 2, {}, {"slow", std::to_string(kRecords), "8", "1000", "200000", markers.path()});
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  Process& survivor = cluster.StartExecutor(*port, "1");
  Process& leaving = cluster.StartExecutor(*port, "2");
  ASSERT_TRUE(WaitUntil([&] {
    return CountMarkers(markers.path(), "map-" + std::to_string(leaving.pid()) + "-") >= 2 ||
           !cluster.driver().running();
  }));
  ASSERT_TRUE(cluster.driver().running())
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  ASSERT_EQ(::kill(leaving.pid(), SIGTERM), 0);
  ProcessResult left = leaving.Wait();
  EXPECT_TRUE(left.Exited(0)) << left.Describe();
  EXPECT_NE(left.err.find("stopping (SIGTERM)"), std::string::npos) << left.Describe();

  ProcessResult driver = cluster.driver().Wait();
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  std::map<int64_t, int64_t> expected;
  for (int64_t v = 0; v < kRecords; ++v) expected[v % 16] += v;
  std::map<int64_t, int64_t> actual;
  for (const auto& r : ParseAppOutput(driver.out).records) {
    ASSERT_EQ(r.size(), 2u);
    ASSERT_TRUE(actual.emplace(std::stoll(r[0]), std::stoll(r[1])).second) << "key twice: " << r[0];
  }
  EXPECT_EQ(actual, expected);
  EXPECT_NE(driver.err.find("executor 2 is shutting down (SIGTERM)"), std::string::npos)
      << driver.Describe();
  EXPECT_EQ(driver.err.find("failed 4 times"), std::string::npos) << driver.Describe();
  ProcessResult rest = survivor.Wait();
  EXPECT_TRUE(rest.Exited(0)) << rest.Describe();
}

TEST(ClusterLifecycleTest, SigtermedDriverFailsItsJobCleanly) {
  TempDir markers("ember-markers");
  ExternalCluster cluster("it-driver-term", 1, {"--termination-log", markers / "termination-log"},
                          {"slow", "4000", "8", "1000", "200000", markers.path()});
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  Process& executor = cluster.StartExecutor(*port, "1");
  ASSERT_TRUE(WaitUntil(
      [&] { return CountMarkers(markers.path(), "map-") >= 1 || !cluster.driver().running(); }));
  ASSERT_TRUE(cluster.driver().running());
  ASSERT_EQ(::kill(cluster.driver().pid(), SIGTERM), 0);
  ProcessResult driver = cluster.driver().Wait();
  ASSERT_TRUE(driver.Exited(1)) << driver.Describe();
  const auto errors = ErrorLines(driver.err);
  ASSERT_EQ(errors.size(), 1u) << driver.Describe();
  EXPECT_EQ(errors[0].rfind("ember-driver: error: job failed: the driver received SIGTERM", 0), 0u)
      << errors[0];
  EXPECT_EQ(ReadFileOrEmpty(markers / "termination-log"), errors[0] + "\n");
  ProcessResult exec = executor.Wait();
  EXPECT_TRUE(exec.Exited(0)) << "the driver still tells its executors to leave\n"
                              << exec.Describe();
}

// ------------------------------------------------------------ --class --

TEST(ClusterLifecycleTest, NamedEntryPointRunsOnDriverAndExecutors) {
  ProcessResult run = Submit("local-cluster[2,1]", EMBER_OPS_APP, {"1000"}, {"--class", "squares"});
  ASSERT_TRUE(run.Exited(0)) << run.Describe();
  int64_t expected = 0;
  for (int64_t v = 0; v < 1000; ++v) expected += v * v;
  EXPECT_EQ(ParseAppOutput(run.out).Scalar("sum_squares"), std::to_string(expected));
  ProcessResult missing = Submit("local[1]", EMBER_OPS_APP, {}, {"--class", "nosuch"});
  ASSERT_TRUE(missing.Exited(1)) << missing.Describe();
  EXPECT_NE(
      missing.err.find("has no entry point 'nosuch' (define it with EMBER_ENTRY_POINT(nosuch"),
      std::string::npos)
      << missing.Describe();
  ProcessResult bad = Submit("local[1]", EMBER_OPS_APP, {}, {"--class", "no-such"});
  EXPECT_TRUE(bad.Exited(2)) << bad.Describe();
}

// --------------------------------------------------------------- metrics --

TEST(ClusterMetricsTest, DriverServesMetricsWhileAJobRuns) {
  TempDir markers("ember-markers");
  ExternalCluster cluster("it-metrics", 1, {"--metrics-port", "0"},
                          {"slow", "2000", "4", "1000", "300000", markers.path()});
  const auto metrics_port = cluster.WaitForLogNumber("metrics at http://127.0.0.1:");
  ASSERT_TRUE(metrics_port.has_value())
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  cluster.StartExecutor(*port, "1");
  // A task has started: the executor is registered and a job is running.
  ASSERT_TRUE(WaitUntil(
      [&] { return CountMarkers(markers.path(), "map-") >= 1 || !cluster.driver().running(); }));
  ASSERT_TRUE(cluster.driver().running());

  const HttpAnswer answer = HttpGet(*metrics_port, "/metrics");
  ASSERT_EQ(answer.status, 200) << answer.headers;
  const std::string response = "\n" + answer.body;
  EXPECT_NE(response.find("\nember_executors_registered{role=\"driver\"} 1\n"), std::string::npos)
      << response;
  EXPECT_NE(response.find("\nember_active_jobs{role=\"driver\"} 1\n"), std::string::npos)
      << response;
  for (const char* family : {"ember_tasks_started_total", "ember_tasks_succeeded_total",
                             "ember_tasks_failed_total", "ember_task_duration_seconds"}) {
    EXPECT_NE(response.find(std::string("# TYPE ") + family + " "), std::string::npos)
        << family << " missing\n"
        << response;
  }
  ProcessResult driver = cluster.driver().Wait();
  EXPECT_TRUE(driver.Exited(0)) << driver.Describe();
}

}  // namespace
}  // namespace ember::testing
