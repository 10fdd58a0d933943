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
  RecordingBackend(std::string id, LaunchLog* log) : id_(std::move(id)), log_(log) {}
  bool Launch(const proto::TaskDescription& task) override {
    log_->Add(id_, task);
    return true;
  }
  void Kill(uint64_t task_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    killed_.push_back(task_id);
  }
  std::vector<uint64_t> killed() {
    std::lock_guard<std::mutex> lock(mu_);
    return killed_;
  }

 private:
  std::string id_;
  LaunchLog* log_;
  std::mutex mu_;
  std::vector<uint64_t> killed_;
};

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

  void AddExecutor(const std::string& id, uint32_t cores) {
    scheduler_.AddExecutor(id, id + ":1", cores, std::make_shared<RecordingBackend>(id, &log_));
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

}  // namespace
}  // namespace ember::scheduler
