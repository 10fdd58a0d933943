// An executor runs a task only if its node chain fits together: each node's
// operator reads what its parents produce and takes as many parents as the
// table gives it, the sink reads what the top node makes, and a function's
// state decodes. A description that disagrees with the library (a planner
// bug, a corrupt or hostile message) fails the task with a message naming
// what did not fit, never reads one type as another.
#include "runtime/executor/task_runner.h"

#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/executor/executor.h"

#include "ember/rdd.h"
#include "graph_only_runner.h"
#include "runtime/scheduler/stage_plan.h"

namespace ember {
namespace {

using testing::GraphOnlyRunner;

class TaskRunnerTest : public ::testing::Test {
 protected:
  // The one task of a single-stage job over `rdd` ending in `sink`.
  template <typename T>
  proto::TaskDescription SinkTask(const RDD<T>& rdd, const internal::FnRef& sink,
                                  const std::string& name) {
    auto stages = scheduler::PlanJob(rdd.node(), name);
    EXPECT_EQ(stages.size(), 1u);
    proto::TaskDescription task = scheduler::DescribeTask(stages.back(), 0, {});
    *task.mutable_result()->mutable_run() = scheduler::ToProto(sink);
    return task;
  }
  template <typename T>
  proto::TaskDescription CollectTask(const RDD<T>& rdd) {
    return SinkTask(rdd, internal::RefOf<&internal::CollectSink<T>::Run>(), "collect");
  }

  proto::TaskStatus Run(const proto::TaskDescription& task) { return RunTask(task, env_); }

  GraphOnlyRunner runner_;
  Context ctx_{&runner_};
  TaskEnvironment env_ = [] {
    TaskEnvironment env;
    env.executor_id = "test";
    return env;
  }();
};

RDD<std::string> Strings(Context& ctx) {
  return ctx.range(0, 4, 1, 1).map([](int64_t x) { return "n" + std::to_string(x); });
}

TEST_F(TaskRunnerTest, AWellFormedTaskRuns) {
  proto::TaskStatus status = Run(CollectTask(Strings(ctx_)));
  ASSERT_EQ(status.state(), proto::TaskStatus::SUCCEEDED) << status.error();
  std::vector<std::string> out;
  RecordReader reader(status.result());
  while (!reader.AtEnd()) {
    std::string s;
    ASSERT_TRUE(Decode(reader, s).ok());
    out.push_back(s);
  }
  EXPECT_EQ(out, (std::vector<std::string>{"n0", "n1", "n2", "n3"}));
}

TEST_F(TaskRunnerTest, SinkThatReadsAnotherTypeIsRefused) {
  proto::TaskDescription task = CollectTask(Strings(ctx_));
  *task.mutable_result()->mutable_run() =
      scheduler::ToProto(internal::RefOf<&internal::CollectSink<int64_t>::Run>());
  proto::TaskStatus status = Run(task);
  EXPECT_EQ(status.state(), proto::TaskStatus::FAILED);
  EXPECT_NE(status.error().find("result sink reads long but its top node produces std::"),
            std::string::npos)
      << status.error();
}

TEST_F(TaskRunnerTest, NodeThatReadsAnotherTypeIsRefused) {
  // A string -> size map spliced onto an int64 source.
  auto sizes =
      Strings(ctx_).map([](const std::string& s) { return static_cast<int64_t>(s.size()); });
  proto::TaskDescription good = CollectTask(sizes);
  ASSERT_EQ(good.nodes_size(), 3);
  proto::TaskDescription task = good;
  task.mutable_nodes()->erase(task.mutable_nodes()->begin() + 1);  // drop the int64 -> string map
  task.mutable_nodes(1)->set_parents(0, 0);
  task.set_top(1);
  proto::TaskStatus status = Run(task);
  EXPECT_EQ(status.state(), proto::TaskStatus::FAILED);
  EXPECT_NE(status.error().find("node 1 reads std::"), std::string::npos) << status.error();
  EXPECT_NE(status.error().find("but node 0 produces long"), std::string::npos) << status.error();
}

TEST_F(TaskRunnerTest, WrongParentCountIsRefused) {
  proto::TaskDescription task = CollectTask(Strings(ctx_));
  task.mutable_nodes(1)->add_parents(0);
  task.mutable_nodes(1)->add_parent_partitions(1);
  proto::TaskStatus status = Run(task);
  EXPECT_EQ(status.state(), proto::TaskStatus::FAILED);
  EXPECT_NE(status.error().find("node 1 has 2 parents; its operator takes 1"), std::string::npos)
      << status.error();
}

TEST_F(TaskRunnerTest, SinkNamedAsANodeIsRefused) {
  proto::TaskDescription task = CollectTask(Strings(ctx_));
  *task.mutable_nodes(1)->mutable_run() =
      scheduler::ToProto(internal::RefOf<&internal::CollectSink<std::string>::Run>());
  proto::TaskStatus status = Run(task);
  EXPECT_EQ(status.state(), proto::TaskStatus::FAILED);
  EXPECT_NE(status.error().find("node 1 names a result sink, not a node"), std::string::npos)
      << status.error();
}

TEST_F(TaskRunnerTest, StateThatDoesNotDecodeFailsTheTask) {
  auto prefixed =
      ctx_.range(0, 2, 1, 1).map(ember::with(std::string("p"), [](const std::string& p, int64_t x) {
        return p + std::to_string(x);
      }));
  proto::TaskDescription task = CollectTask(prefixed);
  ASSERT_EQ(Run(task).state(), proto::TaskStatus::SUCCEEDED);
  task.mutable_nodes(1)->set_capture(
      std::string("\xff\xff\xff\xff\xff", 5));  // a length past the end
  proto::TaskStatus status = Run(task);
  EXPECT_EQ(status.state(), proto::TaskStatus::FAILED);
  EXPECT_NE(status.error().find("decoding the state of a function (ember::with)"),
            std::string::npos)
      << status.error();
  task = CollectTask(Strings(ctx_));
  task.mutable_nodes(1)->set_capture("x");
  status = Run(task);
  EXPECT_NE(status.error().find("state bytes for a function that has none"), std::string::npos)
      << status.error();
}

// The executor's side of a kill: a running task stops at its next check and
// reports KILLED, a queued one is dropped and reported KILLED, and the core
// is free again.
TEST_F(TaskRunnerTest, KilledTasksStopAndReportKilled) {
  // Counting 2^62 numbers takes years: only a kill ends this task.
  proto::TaskDescription endless =
      SinkTask(ctx_.range(0, int64_t{1} << 62, 1, 1),
               internal::RefOf<&internal::CountSink<int64_t>::Run>(), "count");
  endless.set_task_id(1);
  proto::TaskDescription queued = endless;
  queued.set_task_id(2);

  std::mutex mu;
  std::condition_variable cv;
  std::vector<proto::TaskStatus> statuses;
  std::string dir = ::testing::TempDir() + "/ember-kill-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  // Declared before the executor, so removed after it has stopped.
  struct RemoveAtEnd {
    std::string path;
    ~RemoveAtEnd() { std::filesystem::remove_all(path); }
  } remove_at_end{dir};
  Executor::Options options;
  options.executor_id = "e";
  options.cores = 1;
  options.local_dir = dir;
  Executor executor(options, [&](proto::TaskStatus status) {
    std::lock_guard<std::mutex> lock(mu);
    statuses.push_back(std::move(status));
    cv.notify_all();
  });
  // Were the kill to fail, the endless task would hold the executor's
  // destructor forever: drain it (a different path) so the test fails
  // instead of hanging.
  struct DrainAtEnd {
    Executor& executor;
    ~DrainAtEnd() { executor.Drain(std::chrono::milliseconds(0), "the test ended"); }
  } drain_at_end{executor};
  executor.Launch(endless);
  executor.Launch(queued);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (executor.running() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(executor.running(), 1u) << "the first task never started";
  executor.Kill(2);
  executor.Kill(1);
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_until(lock, deadline, [&] { return statuses.size() == 2; }))
      << statuses.size() << " statuses; a killed task kept running";
  std::map<uint64_t, proto::TaskStatus::State> states;
  for (const proto::TaskStatus& s : statuses) states[s.task_id()] = s.state();
  EXPECT_EQ(states, (std::map<uint64_t, proto::TaskStatus::State>{{1, proto::TaskStatus::KILLED},
                                                                  {2, proto::TaskStatus::KILLED}}));
  lock.unlock();
  // The core is given back just after the status goes out.
  while (executor.running() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(executor.running(), 0u);
}

}  // namespace
}  // namespace ember
