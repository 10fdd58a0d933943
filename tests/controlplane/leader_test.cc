// Leader election between real processes on a real Lease.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "operator/leader/leader_election.h"
#include "tests/controlplane/controlplane_env.h"
#include "tests/controlplane/tcp_proxy.h"
#include "tests/controlplane/test_util.h"

namespace ember::kube::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

struct Timing {
  milliseconds lease;
  milliseconds renew;
  milliseconds retry;
};

class Candidate {
 public:
  Candidate(const std::string& ns, const std::string& lease, const std::string& identity,
            const std::string& dir, const Timing& timing)
      : identity_(identity), state_file_(dir + "/" + identity + ".state") {
    std::vector<std::string> args = {EMBER_LEADER_CANDIDATE,
                                     ControlPlane::KubeconfigPath(),
                                     ns,
                                     lease,
                                     identity,
                                     state_file_,
                                     std::to_string(timing.lease.count()),
                                     std::to_string(timing.renew.count()),
                                     std::to_string(timing.retry.count())};
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Candidate() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::string State() const {
    std::ifstream in(state_file_);
    std::string state;
    in >> state;
    return state;
  }
  bool Leads() const { return State() == "leader"; }
  // Sends `signal` and reaps the process; returns its exit status.
  int Kill(int signal) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  const std::string& identity() const { return identity_; }

 private:
  std::string identity_;
  std::string state_file_;
  pid_t pid_ = -1;
};

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ember-leader-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Holder(Client* client, const std::string& ns, const std::string& lease) {
  ApiResult<json> got = client->Get(resources::Leases(), ns, lease);
  if (!got.ok()) return "<" + got.status().ToString() + ">";
  return (*got)["spec"].value("holderIdentity", "");
}

TEST(LeaderElectionTest, ExactlyOneLeadsAndAnotherTakesOverAfterAKill) {
  const std::string ns = ControlPlane::CreateNamespace("leader");
  const Timing timing{milliseconds(4000), milliseconds(3000), milliseconds(500)};
  TempDir dir;
  auto client = ControlPlane::NewClient();
  Candidate a(ns, "lease", "candidate-a", dir.path(), timing);
  Candidate b(ns, "lease", "candidate-b", dir.path(), timing);

  ASSERT_TRUE(Eventually([&] { return a.Leads() || b.Leads(); }, std::chrono::seconds(30)));
  // Watch for a few lease periods: never both, and the Lease names the one.
  const auto watch_until = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  while (std::chrono::steady_clock::now() < watch_until) {
    const bool a_leads = a.Leads();
    const bool b_leads = b.Leads();
    ASSERT_FALSE(a_leads && b_leads) << "two leaders at once";
    ASSERT_TRUE(a_leads || b_leads) << "leadership lapsed while the leader was healthy";
    std::this_thread::sleep_for(milliseconds(100));
  }
  Candidate& leader = a.Leads() ? a : b;
  Candidate& follower = a.Leads() ? b : a;
  EXPECT_EQ(Holder(client.get(), ns, "lease"), leader.identity());

  // A crash: no chance to release the lease.
  const auto killed_at = std::chrono::steady_clock::now();
  leader.Kill(SIGKILL);
  ASSERT_TRUE(Eventually([&] { return follower.Leads(); }, std::chrono::seconds(60)));
  const auto takeover =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - killed_at);
  std::cout << "[ leader  ] takeover after SIGKILL: " << takeover.count() << " ms (lease duration "
            << timing.lease.count() << " ms)\n";
  // The follower trusts the last renewal it saw (up to one jittered retry
  // period before the kill) for a lease duration, then needs one more retry
  // period to notice; three more seconds absorb request latency on a loaded
  // machine. A follower that waited a second lease period would still fail.
  const milliseconds bound = timing.lease + 3 * timing.retry + milliseconds(3000);
  EXPECT_LE(takeover, bound);
  EXPECT_EQ(Holder(client.get(), ns, "lease"), follower.identity());
}

TEST(LeaderElectionTest, CleanShutdownReleasesTheLeaseForAQuickTakeover) {
  const std::string ns = ControlPlane::CreateNamespace("release");
  // A long lease, so that a takeover well inside it can only come from the
  // release.
  const Timing timing{milliseconds(30000), milliseconds(20000), milliseconds(500)};
  TempDir dir;
  auto client = ControlPlane::NewClient();
  Candidate a(ns, "lease", "first", dir.path(), timing);
  ASSERT_TRUE(Eventually([&] { return a.Leads(); }, std::chrono::seconds(30)));
  Candidate b(ns, "lease", "second", dir.path(), timing);
  // b is up and campaigning (it writes "follower" just before it starts).
  ASSERT_TRUE(Eventually([&] { return b.State() == "follower"; }, std::chrono::seconds(30)));
  ASSERT_FALSE(b.Leads());

  const auto stopped_at = std::chrono::steady_clock::now();
  const int status = a.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(a.State(), "stopped");
  ASSERT_TRUE(Eventually([&] { return b.Leads(); }, std::chrono::seconds(60)));
  const auto takeover =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - stopped_at);
  std::cout << "[ leader  ] takeover after release: " << takeover.count() << " ms\n";
  EXPECT_LT(takeover, timing.lease);
  ApiResult<json> lease = client->Get(resources::Leases(), ns, "lease");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "second");
  EXPECT_GE((*lease)["spec"].value("leaseTransitions", 0), 0);
}

TEST(LeaderElectionTest, LosingTheLeaseStopsTheLeadingWorkAtOnce) {
  const std::string ns = ControlPlane::CreateNamespace("lose");
  auto client = ControlPlane::NewClient();
  LeaderElectionConfig config;
  config.lease_namespace = ns;
  config.lease_name = "lease";
  config.identity = "victim";
  config.lease_duration = milliseconds(20000);
  config.renew_deadline = milliseconds(15000);
  config.retry_period = milliseconds(300);
  std::atomic<bool> working{false};
  std::atomic<bool> work_stopped_before_callback{false};
  std::atomic<bool> stopped_callback{false};
  LeaderCallbacks callbacks;
  callbacks.on_started_leading = [&](std::stop_token stop) {
    working = true;
    while (!stop.stop_requested()) std::this_thread::sleep_for(milliseconds(10));
    working = false;
  };
  callbacks.on_stopped_leading = [&] {
    work_stopped_before_callback = !working.load();
    stopped_callback = true;
  };
  auto elector = LeaderElector::Create(client.get(), config, callbacks);
  ASSERT_TRUE(elector.ok()) << elector.status().ToString();
  std::jthread runner([&](std::stop_token stop) { (*elector)->Run(stop); });
  ASSERT_TRUE(Eventually([&] { return working.load(); }, std::chrono::seconds(30)));
  EXPECT_TRUE((*elector)->IsLeader());

  // Someone else takes the lease (an operator with a wrong config, say).
  ApiResult<json> lease = client->Get(resources::Leases(), ns, "lease");
  ASSERT_TRUE(lease.ok());
  (*lease)["spec"]["holderIdentity"] = "thief";
  (*lease)["spec"]["leaseDurationSeconds"] = 3600;
  ApiResult<json> stolen = client->Update(resources::Leases(), *lease);
  ASSERT_TRUE(stolen.ok()) << stolen.status().ToString();

  // Noticed at the next renewal, far inside the renew deadline.
  ASSERT_TRUE(Eventually([&] { return stopped_callback.load(); }, std::chrono::seconds(30)));
  EXPECT_FALSE((*elector)->IsLeader());
  EXPECT_FALSE(working.load());
  EXPECT_TRUE(work_stopped_before_callback.load());
  runner.join();
  // A lost lease is not released: the thief keeps it.
  EXPECT_EQ(Holder(client.get(), ns, "lease"), "thief");
}

// A leader whose network path goes dark must step down by its renew
// deadline, even though its renewal request is still waiting on the network
// (with the client's defaults: a 30 s timeout and retries), and before the
// other candidate may take the lease over.
TEST(LeaderElectionTest, PartitionedLeaderStepsDownByItsRenewDeadline) {
  const std::string ns = ControlPlane::CreateNamespace("partition");
  TcpProxy proxy(ControlPlane::ApiServerPort());
  ClientConfig via_proxy = ControlPlane::Config();
  via_proxy.server = "https://127.0.0.1:" + std::to_string(proxy.port());
  auto leader_client = ControlPlane::NewClient(via_proxy);
  auto other_client = ControlPlane::NewClient();
  using Clock = std::chrono::steady_clock;

  LeaderElectionConfig config;
  config.lease_namespace = ns;
  config.lease_name = "lease";
  config.lease_duration = milliseconds(6000);
  config.renew_deadline = milliseconds(4000);
  config.retry_period = milliseconds(500);

  std::atomic<bool> leader_working{false};
  std::atomic<Clock::rep> leader_stopped_at{0};
  LeaderCallbacks leader_callbacks;
  leader_callbacks.on_started_leading = [&](std::stop_token stop) {
    leader_working = true;
    while (!stop.stop_requested()) std::this_thread::sleep_for(milliseconds(10));
    leader_working = false;
  };
  leader_callbacks.on_stopped_leading = [&] {
    leader_stopped_at = Clock::now().time_since_epoch().count();
  };
  config.identity = "partitioned";
  auto leader = LeaderElector::Create(leader_client.get(), config, leader_callbacks);
  ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  std::jthread leader_runner([&](std::stop_token stop) { (*leader)->Run(stop); });
  ASSERT_TRUE(Eventually([&] { return leader_working.load(); }, std::chrono::seconds(30)));

  std::atomic<Clock::rep> other_started_at{0};
  LeaderCallbacks other_callbacks;
  other_callbacks.on_started_leading = [&](std::stop_token stop) {
    other_started_at = Clock::now().time_since_epoch().count();
    while (!stop.stop_requested()) std::this_thread::sleep_for(milliseconds(10));
  };
  config.identity = "direct";
  // Counts the other candidate's requests: it has tried for the lease and
  // been turned away once it made a few.
  struct Counter final : RequestObserver {
    void OnRequest(std::string_view, int, double) override { ++requests; }
    std::atomic<int> requests{0};
  } other_requests;
  other_client->SetObserver(&other_requests);
  auto other = LeaderElector::Create(other_client.get(), config, other_callbacks);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  std::jthread other_runner([&](std::stop_token stop) { (*other)->Run(stop); });
  ASSERT_TRUE(Eventually([&] { return other_requests.requests.load() >= 3; },
                         std::chrono::seconds(30)));
  ASSERT_TRUE((*leader)->IsLeader());
  ASSERT_FALSE((*other)->IsLeader());

  const Clock::time_point cut = Clock::now();
  proxy.Blackhole();
  // The last renewal was sent at most a retry period (+20 % jitter) before
  // the cut; the slack covers a loaded machine.
  const auto bound = config.renew_deadline + milliseconds(3000);
  ASSERT_TRUE(Eventually([&] { return !(*leader)->IsLeader(); }, std::chrono::seconds(60)));
  const auto stepped_down = Clock::now() - cut;
  EXPECT_LE(stepped_down, bound) << "stepped down after "
                                 << std::chrono::duration_cast<milliseconds>(stepped_down).count()
                                 << " ms";
  ASSERT_TRUE(Eventually([&] { return leader_stopped_at.load() != 0; }, std::chrono::seconds(30)));
  EXPECT_FALSE(leader_working.load());

  ASSERT_TRUE(Eventually([&] { return (*other)->IsLeader(); }, std::chrono::seconds(30)));
  ASSERT_TRUE(Eventually([&] { return other_started_at.load() != 0; }, std::chrono::seconds(5)));
  EXPECT_LT(leader_stopped_at.load(), other_started_at.load())
      << "both replicas led at the same time";
  EXPECT_EQ(Holder(other_client.get(), ns, "lease"), "direct");
  leader_runner.request_stop();
  leader_runner.join();
  other_runner.request_stop();
  other_runner.join();
}

TEST(LeaderElectionTest, RejectsInconsistentTimings) {
  auto client = ControlPlane::NewClient();
  LeaderElectionConfig config{
      "ns", "lease", "me", milliseconds(10000), milliseconds(10000), milliseconds(2000), true};
  EXPECT_EQ(LeaderElector::Create(client.get(), config, {}).status().code(),
            StatusCode::kInvalidArgument);
  config.renew_deadline = milliseconds(1000);
  EXPECT_EQ(LeaderElector::Create(client.get(), config, {}).status().code(),
            StatusCode::kInvalidArgument);
  // leaseDurationSeconds is written rounded down: 10.5 s becomes 10 s,
  // which does not exceed a 10.2 s renew deadline.
  config.lease_duration = milliseconds(10500);
  config.renew_deadline = milliseconds(10200);
  EXPECT_EQ(LeaderElector::Create(client.get(), config, {}).status().code(),
            StatusCode::kInvalidArgument);
  config.renew_deadline = milliseconds(9900);
  EXPECT_TRUE(LeaderElector::Create(client.get(), config, {}).ok());
}

}  // namespace
}  // namespace ember::kube::testing
