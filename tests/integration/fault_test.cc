// Faults between real processes: a shuffle over a throttled or stalling link
// (a real TCP proxy between executors), map outputs that cannot be fetched,
// a shuffle file damaged on disk, and an executor frozen with SIGSTOP.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "external_cluster.h"

namespace ember::testing {
namespace {

namespace fs = std::filesystem;

// The "wide" scenario's expected output: per group, (count, sum).
std::map<int64_t, std::pair<int64_t, int64_t>> ExpectedWide(int64_t records, int64_t reducers) {
  std::map<int64_t, std::pair<int64_t, int64_t>> out;
  for (int64_t v = 0; v < records; ++v) {
    auto& [count, sum] = out[v % reducers];
    ++count;
    sum += v;
  }
  return out;
}

std::map<int64_t, std::pair<int64_t, int64_t>> ParseWide(const std::string& out) {
  std::map<int64_t, std::pair<int64_t, int64_t>> got;
  for (const auto& r : ParseAppOutput(out).records) {
    EXPECT_EQ(r.size(), 3u);
    if (r.size() != 3) continue;
    EXPECT_TRUE(got.emplace(std::stoll(r[0]), std::pair{std::stoll(r[1]), std::stoll(r[2])}).second)
        << "group " << r[0] << " twice";
  }
  return got;
}

// A tcp_proxy process in front of `target_port`.
class Proxy {
 public:
  Proxy(int target_port, const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {EMBER_TCP_PROXY, "--target",
                                     "127.0.0.1:" + std::to_string(target_port)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    process_ = std::make_unique<Process>(std::move(argv));
  }
  std::optional<int> WaitForPort() {
    std::optional<int> port;
    WaitUntil(
        [&] {
          port = NumberAfter(process_->Stdout(), "listening on ");
          return port.has_value() || !process_->running();
        },
        kStartupWait);
    return port;
  }
  std::string Stderr() const { return process_->Stderr(); }

 private:
  std::unique_ptr<Process> process_;
};

// Two executors; executor 2's shuffle server is reached through a proxy
// with `proxy_flags`, so every fetch of its map outputs crosses that link.
struct ProxiedCluster {
  ProxiedCluster(const std::string& name, const std::vector<std::string>& conf,
                 const std::vector<std::string>& app_args,
                 const std::vector<std::string>& proxy_flags)
      : cluster(name, 2, conf, app_args),
        shuffle_port(PickFreePort()),
        proxy(shuffle_port, proxy_flags) {}

  // Starts both executors; false (with the reason in the test log) if the
  // driver or the proxy did not come up.
  bool Start() {
    const auto proxy_port = proxy.WaitForPort();
    if (!proxy_port) {
      ADD_FAILURE() << "proxy did not start: " << proxy.Stderr();
      return false;
    }
    const auto port = cluster.WaitForPort();
    if (!port) {
      ADD_FAILURE() << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
      return false;
    }
    one = &cluster.StartExecutor(*port, "1", {"--metrics-port", "0"});
    two = &cluster.StartExecutor(*port, "2",
                                 {"--shuffle-port", std::to_string(shuffle_port),
                                  "--advertise-shuffle-port", std::to_string(*proxy_port)});
    return true;
  }

  ExternalCluster cluster;
  int shuffle_port;
  Proxy proxy;
  Process* one = nullptr;
  Process* two = nullptr;
};

constexpr int64_t kWideRecords = 6000;
constexpr int64_t kWideValueBytes = 1000;
constexpr int64_t kWideReducers = 2;

std::vector<std::string> WideArgs() {
  return {"wide", std::to_string(kWideRecords), std::to_string(kWideValueBytes),
          std::to_string(kWideReducers)};
}

// About 1.5 MB of executor 2's map output crosses a 400 KB/s link: several
// seconds, longer than the fetch's 2 s inactivity timeout. The fetch
// completes without a retry, because data keeps arriving.
TEST(ShuffleFetchTest, SlowLinkCompletesWithoutRetries) {
  ProxiedCluster c("it-slow-link", {"--conf", "ember.shuffle.io.idleTimeoutMs=2000"}, WideArgs(),
                   {"--rate", "400000"});
  ASSERT_TRUE(c.Start());
  const auto metrics_port = MetricsPort(*c.one);
  ASSERT_TRUE(metrics_port.has_value()) << c.one->Stderr();
  // Read while executor 1 is still up: once the job ends it leaves.
  std::optional<double> retries, read_bytes;
  while (c.cluster.driver().running()) {
    const std::string page = HttpGet(*metrics_port, "/metrics").body;
    if (auto r = MetricValue(page, "ember_shuffle_fetch_retries_total")) retries = r;
    if (auto b = MetricValue(page, "ember_shuffle_read_bytes_total")) read_bytes = b;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ProcessResult driver = c.cluster.driver().Wait();
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  EXPECT_EQ(ParseWide(driver.out), ExpectedWide(kWideRecords, kWideReducers));
  ASSERT_TRUE(retries.has_value());
  EXPECT_EQ(*retries, 0) << c.one->Stderr();
  EXPECT_EQ(c.one->Stderr().find("nothing received"), std::string::npos) << c.one->Stderr();
}

// The link freezes for 4 s after 1.2 MB. With a 1 s inactivity timeout the
// fetch gives up on the frozen connection and resumes from the byte where
// it stopped; the job's answer is exact.
TEST(ShuffleFetchTest, StalledLinkIsRetriedFromWhereItStopped) {
  ProxiedCluster c("it-stall",
                   {"--conf", "ember.shuffle.io.idleTimeoutMs=1000", "--conf",
                    "ember.shuffle.io.retryWaitMs=100"},
                   WideArgs(), {"--stall-after", "1200000", "--stall-ms", "4000"});
  ASSERT_TRUE(c.Start());
  ProcessResult driver = c.cluster.driver().Wait();
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  EXPECT_EQ(ParseWide(driver.out), ExpectedWide(kWideRecords, kWideReducers));
  ProcessResult one = c.one->Wait();
  EXPECT_NE(one.err.find("nothing received for 1000 ms"), std::string::npos) << one.err;
  // A resume, not a restart: the retry starts past the first byte.
  const size_t at = one.err.find("retry 1 of 3");
  ASSERT_NE(at, std::string::npos) << one.err;
  const auto from = NumberAfter(one.err.substr(at), "from byte ");
  ASSERT_TRUE(from.has_value()) << one.err;
  EXPECT_GT(*from, 0) << one.err;
  EXPECT_NE(c.proxy.Stderr().find("stalling after"), std::string::npos) << c.proxy.Stderr();
}

// Executor 2 advertises a shuffle port where nothing listens: its outputs
// cannot be fetched. Each fetch is retried, then reported; with
// ember.stage.maxConsecutiveAttempts=1 the first such loss fails the job,
// and the message says what was tried and why it failed.
TEST(ShuffleFetchTest, UnreachableOutputsFailTheJobOnceTheStageAttemptsAreUsedUp) {
  TempDir work("ember-unreachable");
  ExternalCluster cluster(
      "it-unreachable", 2,
      {"--conf", "ember.stage.maxConsecutiveAttempts=1", "--conf", "ember.shuffle.io.maxRetries=2",
       "--conf", "ember.shuffle.io.retryWaitMs=50"},
      WideArgs());
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  cluster.StartExecutor(*port, "1");
  cluster.StartExecutor(*port, "2", {"--advertise-shuffle-port", std::to_string(PickFreePort())});
  ProcessResult driver = cluster.driver().Wait();
  EXPECT_EQ(driver.exit_code, 1) << driver.Describe();
  const auto errors = ErrorLines(driver.err);
  ASSERT_EQ(errors.size(), 1u) << driver.Describe();
  EXPECT_NE(errors[0].find("lost its shuffle input 1 times"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("after 3 attempts"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("fetching shuffle 0 map"), std::string::npos) << errors[0];
}

// A byte of a committed map output is flipped on disk between two jobs that
// read it. The block checksum catches it, the reduce task reports the map
// output as lost, the map task runs again, and the second job's answer is
// exact.
TEST(ShuffleCorruptionTest, DamagedShuffleFileIsDetectedAndItsOutputRecomputed) {
  constexpr int64_t kRecords = 20000;
  TempDir work("ember-corrupt");
  const std::string go = work.path() + "/go";
  ExternalCluster cluster("it-corrupt", 2, {},
                          {"twice", std::to_string(kRecords), work.path(), go});
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  cluster.StartExecutor(*port, "1");
  cluster.StartExecutor(*port, "2");
  ASSERT_TRUE(WaitUntil([&] {
    return cluster.driver().Stdout().find("ready") != std::string::npos ||
           !cluster.driver().running();
  }));
  ASSERT_TRUE(cluster.driver().running())
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  EXPECT_EQ(ParseAppOutput(cluster.driver().Stdout()).Scalar("first"), "16");
  const size_t maps_before = CountMarkers(work.path(), "map-");
  EXPECT_EQ(maps_before, 4u);

  // Damage one byte inside the first block of one map output.
  std::vector<fs::path> outputs;
  for (const auto& e : fs::recursive_directory_iterator(cluster.dir().path())) {
    const std::string name = e.path().filename().string();
    if (name.rfind("map-", 0) == 0 && e.path().extension() == ".data") outputs.push_back(e.path());
  }
  ASSERT_EQ(outputs.size(), 4u);
  {
    std::fstream f(outputs[0], std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekg(12);
    char byte = 0;
    f.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x5a);
    f.seekp(12);
    f.write(&byte, 1);
  }
  WriteFileOrDie(go, "");

  ProcessResult driver = cluster.driver().Wait();
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  std::map<int64_t, int64_t> expected, actual;
  for (int64_t v = 0; v < kRecords; ++v) expected[v % 16] += v;
  for (const auto& r : ParseAppOutput(driver.out).records) {
    ASSERT_EQ(r.size(), 2u);
    ASSERT_TRUE(actual.emplace(std::stoll(r[0]), std::stoll(r[1])).second);
  }
  EXPECT_EQ(actual, expected);
  EXPECT_NE(driver.err.find("shuffle block checksum mismatch"), std::string::npos)
      << driver.Describe();
  EXPECT_GT(CountMarkers(work.path(), "map-"), maps_before) << "no map task ran again";
}

// An executor frozen with SIGSTOP keeps its connection open but says
// nothing: the driver declares it lost when its heartbeats stop, redoes its
// work on the other executor, and the answer is exact.
TEST(HeartbeatTest, FrozenExecutorIsLostByHeartbeatAndItsWorkRedone) {
  constexpr int64_t kRecords = 4000;
  TempDir markers("ember-markers");
  ExternalCluster cluster(
      "it-sigstop", 2,
      {"--conf", "ember.executor.heartbeatIntervalMs=200", "--conf",
       "ember.executor.heartbeatTimeoutMs=5000"},
      {"slow", std::to_string(kRecords), "8", "1000", "300000", markers.path()});
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  Process& survivor = cluster.StartExecutor(*port, "1");
  Process& victim = cluster.StartExecutor(*port, "2");
  const std::string victim_maps = "map-" + std::to_string(victim.pid()) + "-";
  ASSERT_TRUE(WaitUntil([&] {
    return CountMarkers(markers.path(), victim_maps) >= 2 || !cluster.driver().running();
  }));
  ASSERT_TRUE(cluster.driver().running())
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  ASSERT_EQ(::kill(victim.pid(), SIGSTOP), 0);

  ProcessResult driver = cluster.driver().Wait();
  victim.Signal(SIGKILL);
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  std::map<int64_t, int64_t> expected, actual;
  for (int64_t v = 0; v < kRecords; ++v) expected[v % 16] += v;
  for (const auto& r : ParseAppOutput(driver.out).records) {
    ASSERT_EQ(r.size(), 2u);
    ASSERT_TRUE(actual.emplace(std::stoll(r[0]), std::stoll(r[1])).second);
  }
  EXPECT_EQ(actual, expected);
  EXPECT_NE(driver.err.find("executor 2 lost"), std::string::npos) << driver.Describe();
  EXPECT_NE(driver.err.find("heartbeat"), std::string::npos) << driver.Describe();
  EXPECT_TRUE(survivor.Wait().Exited(0));
}

// In local-cluster mode the frozen executor is the driver's own child: once
// it is declared lost, the driver kills it at once, rather than leave a
// process that could wake and run work given to others, and rather than
// wait on its stream when the application ends.
TEST(HeartbeatTest, FrozenLocalClusterExecutorIsKilledOnceLost) {
  constexpr int64_t kRecords = 4000;
  TempDir markers("ember-markers");
  Process driver({Bin("ember-submit"), "--master", "local-cluster[2,1]", "--log-level", "info",
                  "--conf", "ember.executor.heartbeatIntervalMs=200", "--conf",
                  "ember.executor.heartbeatTimeoutMs=5000", EMBER_OPS_APP, "slow",
                  std::to_string(kRecords), "8", "1000", "300000", markers.path()});
  // The first executor process to write a map marker is the victim.
  pid_t victim = 0;
  ASSERT_TRUE(WaitUntil([&] {
    for (const auto& e : fs::directory_iterator(markers.path())) {
      const std::string name = e.path().filename().string();
      if (name.rfind("map-", 0) == 0) victim = std::stoi(name.substr(4));
    }
    return victim != 0 || !driver.running();
  }));
  ASSERT_TRUE(driver.running()) << driver.Wait(std::chrono::seconds(1)).Describe();
  ASSERT_NE(victim, driver.pid());
  ASSERT_EQ(::kill(victim, SIGSTOP), 0);

  ProcessResult r = driver.Wait();
  ASSERT_TRUE(r.Exited(0)) << r.Describe();
  std::map<int64_t, int64_t> expected, actual;
  for (int64_t v = 0; v < kRecords; ++v) expected[v % 16] += v;
  for (const auto& rec : ParseAppOutput(r.out).records) {
    ASSERT_EQ(rec.size(), 2u);
    ASSERT_TRUE(actual.emplace(std::stoll(rec[0]), std::stoll(rec[1])).second);
  }
  EXPECT_EQ(actual, expected);
  const size_t killed = r.err.find("it was lost and may only be frozen");
  const size_t finished = r.err.find(") finished in ");
  ASSERT_NE(killed, std::string::npos) << r.Describe();
  EXPECT_LT(killed, finished) << "killed only at the end: " << r.Describe();
  EXPECT_NE(r.err.find("was killed by signal 9"), std::string::npos) << r.Describe();
  EXPECT_NE(::kill(victim, 0), 0) << "the frozen executor outlived its driver";
}

}  // namespace
}  // namespace ember::testing
