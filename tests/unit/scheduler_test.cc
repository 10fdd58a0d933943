// The scheduler's decisions, driven in-process: executors are recording
// backends, and the test plays their task statuses. What runs where, what is
// recomputed after a loss, and what counts as a failure.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ember/rdd.h"
#include "graph_only_runner.h"
#include "runtime/scheduler/scheduler.h"

namespace ember::scheduler {
namespace {

using namespace std::chrono_literals;

bool Eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

struct Launched {
  std::string executor;
  proto::TaskDescription task;
};

// Every backend appends here; the test takes launches in order.
class LaunchLog {
 public:
  void Add(std::string executor, const proto::TaskDescription& task) {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back({std::move(executor), task});
    cv_.notify_all();
  }
  Launched Next() {
    std::unique_lock<std::mutex> lock(mu_);
    const bool got = cv_.wait_for(lock, 20s, [&] { return !log_.empty(); });
    if (!got) {
      ADD_FAILURE() << "no task launched within 20 s";
      return {};
    }
    Launched l = std::move(log_.front());
    log_.pop_front();
    return l;
  }
  size_t pending() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Launched> log_;
};

class RecordingBackend final : public ExecutorBackend {
 public:
  RecordingBackend(std::string id, LaunchLog* log, bool reachable = true)
      : id_(std::move(id)), log_(log), reachable_(reachable) {}
  bool Launch(const proto::TaskDescription& task) override {
    if (!reachable_) return false;
    log_->Add(id_, task);
    return true;
  }
  void Kill(uint64_t task_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    killed_.push_back(task_id);
  }
  // Whether the scheduler told this executor to stop attempt `task_id`.
  bool WasKilled(uint64_t task_id) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::find(killed_.begin(), killed_.end(), task_id) != killed_.end();
  }

 private:
  std::string id_;
  LaunchLog* log_;
  bool reachable_;
  std::mutex mu_;
  std::vector<uint64_t> killed_;
};

proto::TaskStatus WithState(const Launched& l, proto::TaskStatus::State state,
                            std::string error = "") {
  proto::TaskStatus s;
  s.set_task_id(l.task.task_id());
  s.set_state(state);
  s.set_error(std::move(error));
  return s;
}

using testing::GraphOnlyRunner;

proto::TaskStatus Succeeded(const Launched& l, std::string result = "") {
  proto::TaskStatus s;
  s.set_task_id(l.task.task_id());
  s.set_state(proto::TaskStatus::SUCCEEDED);
  s.set_result(std::move(result));
  return s;
}

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() : scheduler_(TestOptions()) {}

  static Scheduler::Options TestOptions() {
    Scheduler::Options options;
    // The recording backends never answer a kill; a failed job waits this
    // long for its attempts before it returns.
    options.kill_grace = 200ms;
    // No queueing behind running tasks, however short they look: where a
    // task lands must not depend on how fast the test machine is.
    options.queued_work_per_core = 0us;
    return options;
  }

  // A test that failed half-way leaves its job waiting for statuses that
  // will never come; abort it so the test ends instead of hanging.
  void TearDown() override {
    scheduler_.Abort(CancelledError("test finished"));
    if (job_.valid()) job_.wait();
  }

  // Runs `fn` (a RunJob call) on another thread, as the driver program would.
  std::future<Status>& Start(std::function<Status()> fn) {
    job_ = std::async(std::launch::async, std::move(fn));
    return job_;
  }

  std::shared_ptr<RecordingBackend> AddExecutor(const std::string& id, uint32_t cores,
                                                bool reachable = true) {
    auto backend = std::make_shared<RecordingBackend>(id, &log_, reachable);
    scheduler_.AddExecutor(id, id + ":1", cores, backend);
    return backend;
  }

  // count() of `partitions` one-record partitions.
  std::future<Status>& StartWideCountJob(uint32_t partitions) {
    node_ = ctx_.range(0, partitions, 1, partitions).node();
    return Start([this] {
      return scheduler_.RunJob(node_, internal::ResultSpec{"count", {}, ""}, {},
                               [](uint32_t, std::string&&) { return Status::Ok(); });
    });
  }

  // Two map partitions shuffled into two reducers, then collected.
  // count() of one partition of ten numbers.
  std::future<Status>& StartCountJob() {
    node_ = ctx_.range(0, 10, 1, 1).node();
    return Start([this] {
      return scheduler_.RunJob(node_, internal::ResultSpec{"count", {}, ""}, {},
                               [](uint32_t, std::string&&) { return Status::Ok(); });
    });
  }

  std::future<Status>& StartShuffleJob(std::vector<uint32_t>* results) {
    auto rdd = ctx_.range(0, 4, 1, 2)
                   .map([](int64_t x) { return std::pair<int64_t, int64_t>(x % 2, x); })
                   .reduceByKey([](int64_t a, int64_t b) { return a + b; }, 2);
    internal::ResultSpec sink{"collect", {}, ""};
    node_ = rdd.node();
    return Start([this, sink, results] {
      return scheduler_.RunJob(node_, sink, {}, [results](uint32_t p, std::string&&) {
        results->push_back(p);
        return Status::Ok();
      });
    });
  }

  // Runs the shuffle job's two map tasks to success; returns its two
  // reduce attempts, in launch order.
  std::pair<Launched, Launched> MapStageDoneTakeReducers() {
    Launched m0 = log_.Next();
    Launched m1 = log_.Next();
    EXPECT_NE(m0.executor, m1.executor) << "one map task per single-core executor";
    scheduler_.OnTaskStatus(m0.executor, Succeeded(m0));
    scheduler_.OnTaskStatus(m1.executor, Succeeded(m1));
    Launched r0 = log_.Next();
    Launched r1 = log_.Next();
    return {r0, r1};
  }

  GraphOnlyRunner runner_;
  Context ctx_{&runner_};
  LaunchLog log_;
  Scheduler scheduler_;
  std::shared_ptr<const internal::Node> node_;
  std::future<Status> job_;
};

TEST_F(SchedulerTest, RunsMapStageThenReduceStageOnFreeCores) {
  AddExecutor("a", 1);
  AddExecutor("b", 1);
  std::vector<uint32_t> results;
  auto& job = StartShuffleJob(&results);
  Launched m0 = log_.Next();
  Launched m1 = log_.Next();
  EXPECT_TRUE(m0.task.has_shuffle_map());
  EXPECT_NE(m0.executor, m1.executor) << "one task per core, spread over executors";
  // Nothing else may start while both cores are busy and the map stage runs.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(log_.pending(), 0u);
  scheduler_.OnTaskStatus(m0.executor, Succeeded(m0));
  scheduler_.OnTaskStatus(m1.executor, Succeeded(m1));
  Launched r0 = log_.Next();
  Launched r1 = log_.Next();
  ASSERT_TRUE(r0.task.has_result());
  ASSERT_EQ(r0.task.shuffles_size(), 1);
  EXPECT_EQ(r0.task.shuffles(0).maps_size(), 2);
  scheduler_.OnTaskStatus(r0.executor, Succeeded(r0));
  scheduler_.OnTaskStatus(r1.executor, Succeeded(r1));
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(job.get().ok());
  EXPECT_EQ(results.size(), 2u);
}

TEST_F(SchedulerTest, LostExecutorsOutputsAreRecomputedAndStaleFetchFailuresIgnored) {
  AddExecutor("a", 1);
  AddExecutor("b", 2);
  std::vector<uint32_t> results;
  auto& job = StartShuffleJob(&results);
  // Map tasks: one on each executor (b has more free cores, so it goes first).
  Launched m_first = log_.Next();
  Launched m_second = log_.Next();
  scheduler_.OnTaskStatus(m_first.executor, Succeeded(m_first));
  scheduler_.OnTaskStatus(m_second.executor, Succeeded(m_second));
  const Launched& on_a = m_first.executor == "a" ? m_first : m_second;
  ASSERT_EQ(on_a.executor, "a");
  const uint32_t lost_map = on_a.task.partition();
  // Reduce tasks start; keep the one on b, which was told map `lost_map` is on a.
  Launched r_first = log_.Next();
  Launched r_second = log_.Next();
  Launched stale = r_first.executor == "b" ? r_first : r_second;
  ASSERT_EQ(stale.executor, "b");
  // a dies: its map output is recomputed (on b, the only executor left).
  scheduler_.RemoveExecutor("a", UnavailableError("killed"));
  Launched recompute = log_.Next();
  ASSERT_TRUE(recompute.task.has_shuffle_map());
  EXPECT_EQ(recompute.executor, "b");
  EXPECT_EQ(recompute.task.partition(), lost_map);
  scheduler_.OnTaskStatus("b", Succeeded(recompute));
  // Now the old reduce task reports that fetching from a failed. That news
  // is stale: the output lives on b now and must not be dropped again.
  proto::TaskStatus failed;
  failed.set_task_id(stale.task.task_id());
  failed.set_state(proto::TaskStatus::FETCH_FAILED);
  failed.set_failed_shuffle_id(stale.task.shuffles(0).shuffle_id());
  failed.set_failed_map_id(lost_map);
  failed.set_failed_executor_id("a");
  failed.set_error("connection refused");
  scheduler_.OnTaskStatus("b", failed);
  // Both reducers run (again) on b with every map output on b; no map task.
  for (int i = 0; i < 2; ++i) {
    Launched r = log_.Next();
    ASSERT_TRUE(r.task.has_result()) << "a map task was recomputed for a stale fetch failure";
    for (const auto& map : r.task.shuffles(0).maps()) EXPECT_EQ(map.executor_id(), "b");
    scheduler_.OnTaskStatus("b", Succeeded(r));
  }
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(job.get().ok());
  EXPECT_EQ(results.size(), 2u);
}

// Losing an executor stops what no longer counts: its own attempts (told
// to stop should it come back) and the readers elsewhere of the outputs it
// held. A killed attempt that finishes anyway is not counted.
TEST_F(SchedulerTest, LostExecutorKillsTheReadersOfItsOutputsAndTheirLateResultsDoNotCount) {
  auto a = AddExecutor("a", 1);
  auto b = AddExecutor("b", 1);
  std::vector<uint32_t> results;
  auto& job = StartShuffleJob(&results);
  auto [r0, r1] = MapStageDoneTakeReducers();
  ASSERT_NE(r0.executor, r1.executor);
  const Launched& on_a = r0.executor == "a" ? r0 : r1;
  const Launched& on_b = r0.executor == "b" ? r0 : r1;
  scheduler_.RemoveExecutor("a", UnavailableError("killed"));
  EXPECT_TRUE(a->WasKilled(on_a.task.task_id()))
      << "the lost executor's own attempt was not told to stop";
  EXPECT_TRUE(b->WasKilled(on_b.task.task_id()))
      << "the reader of the lost output was not told to stop";
  // The killed reader finishes anyway: too late to count.
  scheduler_.OnTaskStatus("b", Succeeded(on_b));
  Launched recompute = log_.Next();
  ASSERT_TRUE(recompute.task.has_shuffle_map());
  EXPECT_EQ(recompute.executor, "b");
  scheduler_.OnTaskStatus("b", Succeeded(recompute));
  // Both reduce partitions run again, as the stage's next attempt.
  for (int i = 0; i < 2; ++i) {
    Launched r = log_.Next();
    ASSERT_TRUE(r.task.has_result()) << "reduce partition " << i << " did not run again";
    EXPECT_EQ(r.task.stage_attempt(), 1u);
    scheduler_.OnTaskStatus("b", Succeeded(r));
  }
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(job.get().ok());
  EXPECT_EQ(results.size(), 2u) << "the killed attempt's result was taken";
}

TEST_F(SchedulerTest, TaskFailuresAreRetriedThenFailTheJobWithTheirMessage) {
  AddExecutor("a", 1);
  auto& job = StartCountJob();
  for (uint32_t attempt = 0; attempt < 4; ++attempt) {
    Launched l = log_.Next();
    EXPECT_EQ(l.task.attempt(), attempt);
    proto::TaskStatus s;
    s.set_task_id(l.task.task_id());
    s.set_state(proto::TaskStatus::FAILED);
    s.set_error("std::runtime_error: boom");
    scheduler_.OnTaskStatus("a", s);
  }
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  Status st = job.get();
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  EXPECT_NE(st.message().find("failed 4 times"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("boom"), std::string::npos) << st.message();
}

TEST_F(SchedulerTest, AbortFailsTheRunningJobAtOnce) {
  AddExecutor("a", 1);
  auto& job = StartCountJob();
  (void)log_.Next();
  scheduler_.Abort(UnavailableError("all executor processes have exited"));
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_NE(job.get().message().find("all executor processes"), std::string::npos);
}

TEST_F(SchedulerTest, StatusFromAnotherExecutorIsIgnored) {
  AddExecutor("a", 1);
  AddExecutor("b", 1);
  auto& job = StartCountJob();
  Launched l = log_.Next();
  const std::string other = l.executor == "a" ? "b" : "a";
  scheduler_.OnTaskStatus(other, Succeeded(l));
  EXPECT_EQ(job.wait_for(300ms), std::future_status::timeout)
      << "a status about an attempt another executor runs must not count";
  scheduler_.OnTaskStatus(l.executor, Succeeded(l));
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(job.get().ok());
}

TEST_F(SchedulerTest, FetchFailureAboutAnOlderEpochIsIgnored) {
  AddExecutor("a", 1);
  AddExecutor("b", 1);
  std::vector<uint32_t> results;
  auto& job = StartShuffleJob(&results);
  auto [r0, r1] = MapStageDoneTakeReducers();
  const proto::MapLocation& where = r0.task.shuffles(0).maps(0);
  proto::TaskStatus stale = WithState(r0, proto::TaskStatus::FETCH_FAILED, "reset by peer");
  stale.set_failed_shuffle_id(r0.task.shuffles(0).shuffle_id());
  stale.set_failed_map_id(where.map_id());
  stale.set_failed_executor_id(where.executor_id());
  stale.set_failed_epoch(where.epoch() + 1);  // not the epoch the output has
  scheduler_.OnTaskStatus(r0.executor, stale);
  // The reduce task runs again; no map task is recomputed.
  Launched again = log_.Next();
  ASSERT_TRUE(again.task.has_result()) << "an output was dropped for news about another epoch";
  scheduler_.OnTaskStatus(again.executor, Succeeded(again));
  scheduler_.OnTaskStatus(r1.executor, Succeeded(r1));
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(job.get().ok());
}

TEST_F(SchedulerTest, FetchFailureResubmitsTheStageAndKillsItsOldAttempts) {
  auto a = AddExecutor("a", 1);
  auto b = AddExecutor("b", 1);
  std::vector<uint32_t> results;
  auto& job = StartShuffleJob(&results);
  auto [r0, r1] = MapStageDoneTakeReducers();
  EXPECT_EQ(r0.task.stage_attempt(), 0u);
  // r0 cannot fetch map 0 from where it lives: that output is condemned.
  const proto::MapLocation& where = r0.task.shuffles(0).maps(0);
  proto::TaskStatus failed = WithState(r0, proto::TaskStatus::FETCH_FAILED, "connection refused");
  failed.set_failed_shuffle_id(r0.task.shuffles(0).shuffle_id());
  failed.set_failed_map_id(where.map_id());
  failed.set_failed_executor_id(where.executor_id());
  failed.set_failed_epoch(where.epoch());
  scheduler_.OnTaskStatus(r0.executor, failed);
  // The other attempt of the old stage run is told to stop.
  ASSERT_TRUE(
      Eventually([&] { return (r1.executor == "a" ? a : b)->WasKilled(r1.task.task_id()); }));
  scheduler_.OnTaskStatus(r1.executor, WithState(r1, proto::TaskStatus::KILLED, "told to stop"));
  // The lost map outputs are recomputed, then the reduce stage runs again as
  // attempt 1.
  std::vector<Launched> maps;
  Launched next = log_.Next();
  while (next.task.has_shuffle_map()) {
    scheduler_.OnTaskStatus(next.executor, Succeeded(next));
    next = log_.Next();
  }
  EXPECT_EQ(next.task.stage_attempt(), 1u);
  scheduler_.OnTaskStatus(next.executor, Succeeded(next));
  Launched last = log_.Next();
  EXPECT_EQ(last.task.stage_attempt(), 1u);
  scheduler_.OnTaskStatus(last.executor, Succeeded(last));
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(job.get().ok());
  EXPECT_EQ(results.size(), 2u);
}

TEST_F(SchedulerTest, FailedJobKillsItsRunningAttempts) {
  auto a = AddExecutor("a", 1);
  auto b = AddExecutor("b", 1);
  Scheduler::Options options = TestOptions();
  auto& job = StartWideCountJob(2);
  Launched t0 = log_.Next();
  Launched t1 = log_.Next();
  for (int attempt = 0; attempt < 4; ++attempt) {
    scheduler_.OnTaskStatus(t0.executor, WithState(t0, proto::TaskStatus::FAILED, "boom"));
    if (attempt < 3) t0 = log_.Next();
  }
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_FALSE(job.get().ok());
  EXPECT_TRUE((t1.executor == "a" ? a : b)->WasKilled(t1.task.task_id()))
      << "the attempt still running when the job failed was not killed";
  (void)options;
}

TEST_F(SchedulerTest, FailedLaunchGoesToAnotherExecutorAtOnce) {
  AddExecutor("dead", 4, /*reachable=*/false);
  AddExecutor("live", 1);
  auto& job = StartCountJob();
  Launched l = log_.Next();  // "dead" has more free cores, yet the task lands here
  EXPECT_EQ(l.executor, "live");
  scheduler_.OnTaskStatus("live", Succeeded(l));
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(job.get().ok());
}

TEST_F(SchedulerTest, RetriesRunBeforeUntriedPartitionsAndLongTasksAreNotQueued) {
  AddExecutor("a", 1);
  auto& job = StartWideCountJob(4);
  // No task has finished yet, so none is known to be short: one task per
  // core, none queued behind it.
  Launched first = log_.Next();
  EXPECT_EQ(first.task.partition(), 0u);
  EXPECT_EQ(log_.pending(), 0u);
  proto::TaskStatus failed;
  failed.set_task_id(first.task.task_id());
  failed.set_state(proto::TaskStatus::FAILED);
  failed.set_error("std::runtime_error: flaky");
  scheduler_.OnTaskStatus("a", failed);
  // The failed partition goes to the front of the line.
  Launched retry = log_.Next();
  EXPECT_EQ(retry.task.partition(), 0u);
  EXPECT_EQ(retry.task.attempt(), 1u);
  scheduler_.OnTaskStatus("a", Succeeded(retry));
  for (uint32_t p = 1; p < 4; ++p) {
    Launched l = log_.Next();
    EXPECT_EQ(l.task.partition(), p);
    scheduler_.OnTaskStatus("a", Succeeded(l));
  }
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(job.get().ok());
}

TEST_F(SchedulerTest, HandedBackTasksRunAgainWithoutCountingAFailure) {
  AddExecutor("a", 1);
  auto& job = StartCountJob();
  for (int i = 0; i < 6; ++i) {  // more than max_task_failures
    Launched l = log_.Next();
    EXPECT_EQ(l.task.attempt(), 0u);
    scheduler_.OnTaskStatus("a",
                            WithState(l, proto::TaskStatus::KILLED, "executor a stopped: SIGTERM"));
  }
  Launched l = log_.Next();
  scheduler_.OnTaskStatus("a", Succeeded(l));
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(job.get().ok());
}

TEST_F(SchedulerTest, OneAttemptPerPartitionMayCommit) {
  AddExecutor("a", 1);
  AddExecutor("b", 1);
  auto& job = StartCountJob();
  Launched first = log_.Next();
  std::string reason;
  const std::string other = first.executor == "a" ? "b" : "a";
  EXPECT_FALSE(scheduler_.CanCommit(other, first.task.task_id(), &reason))
      << "asked from the wrong executor";
  EXPECT_TRUE(scheduler_.CanCommit(first.executor, first.task.task_id(), &reason)) << reason;
  EXPECT_TRUE(scheduler_.CanCommit(first.executor, first.task.task_id(), &reason))
      << "asking twice is fine";
  // The attempt is handed back; its permission goes with it.
  scheduler_.OnTaskStatus(first.executor, WithState(first, proto::TaskStatus::KILLED, "stopping"));
  Launched second = log_.Next();
  EXPECT_FALSE(scheduler_.CanCommit(first.executor, first.task.task_id(), &reason));
  EXPECT_EQ(reason, "this attempt no longer counts");
  EXPECT_TRUE(scheduler_.CanCommit(second.executor, second.task.task_id(), &reason)) << reason;
  scheduler_.OnTaskStatus(second.executor, Succeeded(second));
  ASSERT_EQ(job.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(job.get().ok());
  EXPECT_FALSE(scheduler_.CanCommit(second.executor, second.task.task_id(), &reason))
      << "no job runs";
}

}  // namespace
}  // namespace ember::scheduler
