// The SparkApplication state machine (operator/controller/decide.h): each
// transition from a table of observed states, with no API server involved.
// The same transitions run against a real kube-apiserver in
// tests/controlplane/operator_test.cc.
#include "operator/controller/decide.h"

#include <gtest/gtest.h>

#include "operator/controller/names.h"

namespace ember::sparkapp {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint(std::chrono::seconds(1'800'000'000));
const std::string kUid = "0000-uid";

json BaseSpec() {
  return {{"image", "ember-driver:test"},
          {"mainApplicationFile", "local:///opt/ember/examples/libsparkpi.so"},
          {"arguments", {"10"}},
          {"executor", {{"instances", 2}}}};
}

class DecideTest : public ::testing::Test {
 protected:
  DecideTest() { SetSpec(BaseSpec()); }

  void SetSpec(json spec) {
    o_.raw_spec = std::move(spec);
    Result<AppSpec> parsed = ParseSpec(o_.raw_spec);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    o_.spec = *parsed;
  }
  void SetUp() override {
    o_.now = kT0;
    o_.app = AppRef{"pi", "jobs", kUid};
    o_.generation = 1;
  }

  PodView Pod(const std::string& role, int id, const std::string& phase, int submission = 1) {
    PodView p;
    p.role = role;
    p.executor_id = id;
    p.name = role == "driver" ? DriverPodName("pi") : ExecutorPodName("pi", id);
    p.uid = p.name + "-uid-" + std::to_string(submission);
    p.submission_id = SubmissionId(kUid, 1, submission);
    p.phase = phase;
    p.created = o_.now;
    if (phase == "Running") p.started = o_.now;
    return p;
  }
  PodView Driver(const std::string& phase, int submission = 1) { return Pod("driver", 0, phase, submission); }
  PodView Executor(int id, const std::string& phase, int submission = 1) {
    return Pod("executor", id, phase, submission);
  }

  // Applies a plan's outcome to the observation, as the reconciler and the
  // API would: the new status, created pods (Pending) and deleted pods gone.
  void Apply(const Plan& plan) {
    o_.status = plan.status;
    for (const Action& a : plan.actions) {
      if (a.kind == ActionKind::kCreatePod) {
        PodView p = ViewPod(a.object, a.executor ? "executor" : "driver");
        p.created = o_.now;
        o_.pods.push_back(p);
      } else if (a.kind == ActionKind::kDeletePod) {
        std::erase_if(o_.pods, [&](const PodView& p) { return p.name == a.name; });
      }
    }
  }
  Plan DecideAndApply() {
    Plan plan = Decide(o_);
    Apply(plan);
    return plan;
  }
  void Advance(std::chrono::milliseconds d) { o_.now += d; }
  PodView* Find(const std::string& name) {
    for (PodView& p : o_.pods) {
      if (p.name == name) return &p;
    }
    return nullptr;
  }

  static int Count(const Plan& plan, ActionKind kind) {
    return static_cast<int>(std::count_if(plan.actions.begin(), plan.actions.end(),
                                          [&](const Action& a) { return a.kind == kind; }));
  }
  static bool HasEvent(const Plan& plan, const std::string& reason) {
    return std::any_of(plan.events.begin(), plan.events.end(),
                       [&](const PlannedEvent& e) { return e.reason == reason; });
  }
  static std::vector<std::string> Deleted(const Plan& plan) {
    std::vector<std::string> names;
    for (const Action& a : plan.actions) {
      if (a.kind == ActionKind::kDeletePod) names.push_back(a.name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  static std::vector<std::string> Created(const Plan& plan) {
    std::vector<std::string> names;
    for (const Action& a : plan.actions) {
      if (a.kind == ActionKind::kCreatePod) names.push_back(a.name);
    }
    return names;
  }

  // Submits and runs the driver and both executors.
  void StartRunning() {
    DecideAndApply();
    for (PodView& p : o_.pods) {
      p.phase = "Running";
      p.ready = true;
      p.started = o_.now;
    }
    Advance(seconds(1));
    Plan plan = DecideAndApply();
    ASSERT_EQ(plan.status.state, AppState::kRunning);
  }

  Observed o_;
};

TEST_F(DecideTest, NewApplicationSubmitsEverythingAtOnce) {
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kSubmitted);
  EXPECT_EQ(Count(plan, ActionKind::kCreateSecret), 1);
  EXPECT_EQ(Count(plan, ActionKind::kCreateService), 1);
  EXPECT_EQ(Created(plan), (std::vector<std::string>{"pi-driver", "pi-exec-1", "pi-exec-2"}));
  EXPECT_EQ(plan.status.submission_attempts, 1);
  EXPECT_EQ(plan.status.submission_id, SubmissionId(kUid, 1, 1));
  EXPECT_EQ(plan.status.executors.active, (std::vector<int>{1, 2}));
  EXPECT_EQ(plan.status.executors.next_id, 3);
  EXPECT_EQ(plan.status.driver.service_name, "pi-driver-svc");
  EXPECT_EQ(plan.status.driver.web_ui_address, "pi-driver-svc.jobs.svc:4040");
  EXPECT_TRUE(plan.submits);
  EXPECT_TRUE(HasEvent(plan, "SparkApplicationSubmitted"));
  ASSERT_TRUE(plan.requeue_after);
  EXPECT_EQ(*plan.requeue_after, std::chrono::minutes(5));  // the submission timeout
}

TEST_F(DecideTest, DecidingAgainCreatesNothing) {
  DecideAndApply();
  Plan again = Decide(o_);
  EXPECT_TRUE(again.actions.empty());
  EXPECT_EQ(again.status.ToJson(), o_.status.ToJson());
  EXPECT_FALSE(again.need_live_pods);
}

TEST_F(DecideTest, RestartBeforeTheStatusWasWrittenReusesTheRunId) {
  // The pods of run 1 exist, but the status never recorded the submission.
  Plan first = Decide(o_);
  for (const Action& a : first.actions) {
    if (a.kind == ActionKind::kCreatePod) o_.pods.push_back(ViewPod(a.object, a.executor ? "executor" : "driver"));
  }
  Plan replay = Decide(o_);
  EXPECT_TRUE(Deleted(replay).empty()) << "the pods belong to this very run";
  EXPECT_EQ(replay.status.submission_id, first.status.submission_id);
  EXPECT_EQ(Created(replay), Created(first)) << "creates answered by 409 AlreadyExists";
}

TEST_F(DecideTest, PendingDriverShowsWhyItWaits) {
  DecideAndApply();
  PodView* driver = Find("pi-driver");
  driver->pending_reason = "Unschedulable";
  driver->pending_message = "0/1 nodes are available: 1 Insufficient memory.";
  Advance(seconds(30));
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kSubmitted);
  EXPECT_EQ(plan.status.reason, "Unschedulable");
  EXPECT_EQ(plan.status.error_message, "0/1 nodes are available: 1 Insufficient memory.");
  ASSERT_TRUE(plan.requeue_after);
  EXPECT_EQ(*plan.requeue_after, std::chrono::minutes(5) - seconds(30));
}

TEST_F(DecideTest, SubmissionTimeoutFailsWithThePendingReason) {
  DecideAndApply();
  Find("pi-driver")->pending_reason = "ImagePullBackOff";
  Find("pi-driver")->pending_message = "Back-off pulling image";
  Advance(std::chrono::minutes(5));
  Plan plan = DecideAndApply();
  EXPECT_EQ(plan.status.state, AppState::kSubmissionFailed);
  EXPECT_EQ(plan.status.reason, "ImagePullBackOff");
  EXPECT_NE(plan.status.error_message.find("not running after 5m"), std::string::npos)
      << plan.status.error_message;
  EXPECT_EQ(plan.timeouts, (std::vector<std::string>{"submission"}));
  EXPECT_EQ(Deleted(plan), (std::vector<std::string>{"pi-driver", "pi-exec-1", "pi-exec-2"}));
  EXPECT_TRUE(plan.status.termination_time) << "restartPolicy Never: the failure is final";
  EXPECT_EQ(Count(plan, ActionKind::kDeleteService), 1);
  // Final: nothing more happens.
  Plan after = Decide(o_);
  EXPECT_TRUE(after.actions.empty());
  EXPECT_EQ(after.status.state, AppState::kSubmissionFailed);
}

TEST_F(DecideTest, ImageThatCanNeverBePulledFailsAtOnce) {
  DecideAndApply();
  Find("pi-driver")->pending_reason = "ErrImageNeverPull";
  Advance(seconds(2));
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kSubmissionFailed);
  EXPECT_EQ(plan.status.reason, "ErrImageNeverPull");
  EXPECT_TRUE(plan.timeouts.empty()) << "a permanent failure is not a timeout";
}

TEST_F(DecideTest, FailedSubmissionIsRetriedUnderOnFailure) {
  json spec = BaseSpec();
  spec["restartPolicy"] = {{"type", "OnFailure"}, {"onSubmissionFailureRetries", 1},
                           {"onSubmissionFailureRetryInterval", 20}};
  SetSpec(spec);
  DecideAndApply();
  Advance(std::chrono::minutes(5));
  Plan failed = DecideAndApply();
  EXPECT_EQ(failed.status.state, AppState::kPendingRerun);
  EXPECT_EQ(failed.status.reason, "RetryAfterSubmissionFailure");
  EXPECT_TRUE(HasEvent(failed, "SparkApplicationSubmissionFailed"));
  Advance(seconds(10));
  Plan waiting = DecideAndApply();
  EXPECT_EQ(waiting.status.state, AppState::kPendingRerun);
  ASSERT_TRUE(waiting.requeue_after);
  EXPECT_EQ(*waiting.requeue_after, seconds(10));
  Advance(seconds(10));
  Plan rerun = DecideAndApply();
  EXPECT_EQ(rerun.status.state, AppState::kSubmitted);
  EXPECT_EQ(rerun.status.submission_attempts, 2);
  EXPECT_EQ(rerun.status.submission_id, SubmissionId(kUid, 1, 2));
  // The second failed submission exhausts onSubmissionFailureRetries = 1.
  Advance(std::chrono::minutes(5));
  Plan final_failure = DecideAndApply();
  EXPECT_EQ(final_failure.status.state, AppState::kSubmissionFailed);
  EXPECT_TRUE(final_failure.status.termination_time);
}

TEST_F(DecideTest, RunningDriverCountsAnExecutionAttempt) {
  DecideAndApply();
  for (PodView& p : o_.pods) {
    p.phase = "Running";
    p.started = o_.now;
  }
  Find("pi-driver")->pod_ip = "10.244.0.7";
  Advance(seconds(1));
  Plan plan = DecideAndApply();
  EXPECT_EQ(plan.status.state, AppState::kRunning);
  EXPECT_EQ(plan.status.execution_attempts, 1);
  EXPECT_TRUE(plan.driver_started);
  EXPECT_TRUE(HasEvent(plan, "SparkDriverRunning"));
  EXPECT_EQ(plan.status.driver.pod_ip, "10.244.0.7");
  EXPECT_EQ(plan.status.executors.running, 2);
  Plan again = Decide(o_);
  EXPECT_EQ(again.status.execution_attempts, 1) << "counted once per run";
  EXPECT_FALSE(again.driver_started);
}

TEST_F(DecideTest, DriverThatNeverTurnsReadyFailsTheRun) {
  DecideAndApply();
  Find("pi-driver")->phase = "Running";
  Find("pi-driver")->started = o_.now;
  Advance(seconds(1));
  DecideAndApply();
  Advance(std::chrono::minutes(5));
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kFailing);
  EXPECT_EQ(plan.status.reason, "DriverNotReady");
  EXPECT_EQ(plan.timeouts, (std::vector<std::string>{"driver_ready"}));
  EXPECT_EQ(Deleted(plan), (std::vector<std::string>{"pi-driver", "pi-exec-1", "pi-exec-2"}));
}

TEST_F(DecideTest, MaxRunDurationStopsTheRun) {
  json spec = BaseSpec();
  spec["timeouts"] = {{"maxRunDuration", "1h"}};
  SetSpec(spec);
  StartRunning();
  Advance(std::chrono::minutes(59));
  EXPECT_EQ(Decide(o_).status.state, AppState::kRunning);
  EXPECT_TRUE(Decide(o_).timeouts.empty());
  Advance(std::chrono::minutes(1));
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kFailing);
  EXPECT_EQ(plan.status.reason, "MaxRunDurationExceeded");
  EXPECT_EQ(plan.timeouts, (std::vector<std::string>{"max_run_duration"}));
}

// A node that stops reporting leaves the driver's phase Unknown; the state's
// deadline must still end the run or the submission.
TEST_F(DecideTest, DriverInPhaseUnknownStillHitsMaxRunDuration) {
  json spec = BaseSpec();
  spec["timeouts"] = {{"maxRunDuration", "1h"}};
  SetSpec(spec);
  StartRunning();
  Find("pi-driver")->phase = "Unknown";
  Advance(std::chrono::minutes(30));
  Plan waiting = Decide(o_);
  EXPECT_EQ(waiting.status.state, AppState::kRunning);
  ASSERT_TRUE(waiting.requeue_after);
  EXPECT_LE(*waiting.requeue_after, seconds(10));
  Advance(std::chrono::minutes(30));
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kFailing);
  EXPECT_EQ(plan.status.reason, "MaxRunDurationExceeded");
  EXPECT_EQ(plan.timeouts, (std::vector<std::string>{"max_run_duration"}));
}

TEST_F(DecideTest, DriverInPhaseUnknownBeforeRunningHitsTheSubmissionTimeout) {
  DecideAndApply();
  Find("pi-driver")->phase = "Unknown";
  Advance(std::chrono::minutes(4));
  EXPECT_EQ(DecideAndApply().status.state, AppState::kSubmitted);
  Advance(std::chrono::minutes(1));
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kSubmissionFailed);
  EXPECT_EQ(plan.status.reason, "NodeLost");
  EXPECT_NE(plan.status.error_message.find("phase Unknown"), std::string::npos) << plan.status.error_message;
  EXPECT_EQ(plan.timeouts, (std::vector<std::string>{"submission"}));
}

TEST_F(DecideTest, ExecutorThatNeverStartsIsReplacedAsATimeout) {
  DecideAndApply();
  Find("pi-driver")->phase = "Running";
  Find("pi-driver")->ready = true;
  Find("pi-driver")->started = o_.now;
  Find("pi-exec-1")->phase = "Running";
  Find("pi-exec-1")->started = o_.now;
  Advance(seconds(1));
  EXPECT_TRUE(DecideAndApply().timeouts.empty());
  Advance(std::chrono::minutes(5));
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kRunning) << "one executor timing out does not fail the run";
  EXPECT_EQ(plan.timeouts, (std::vector<std::string>{"executor_start"}));
  EXPECT_EQ(Deleted(plan), (std::vector<std::string>{"pi-exec-2"}));
}

// A driver that exits 0 completes the app at once; executors still running
// are stopped without holding the app in SUCCEEDING until their pods end.
TEST_F(DecideTest, SucceededDriverCompletesAtOnceAndItsExecutorsAreStopped) {
  StartRunning();
  Find("pi-driver")->phase = "Succeeded";
  Find("pi-exec-1")->phase = "Succeeded";
  // exec-2 still runs, and its pod takes a while to go once deleted.
  const PodView still_running = *Find("pi-exec-2");
  Plan done = DecideAndApply();
  EXPECT_EQ(done.status.state, AppState::kCompleted);
  EXPECT_EQ(Deleted(done), (std::vector<std::string>{"pi-exec-1", "pi-exec-2"}));
  EXPECT_EQ(Count(done, ActionKind::kDeleteService), 1);
  EXPECT_TRUE(HasEvent(done, "SparkDriverCompleted"));
  EXPECT_TRUE(HasEvent(done, "SparkApplicationCompleted"));
  EXPECT_TRUE(done.status.termination_time);
  EXPECT_EQ(done.status.executors.running, 1);
  ASSERT_NE(Find("pi-driver"), nullptr) << "the driver pod stays for its logs";
  // The deleted executor's pod is still there, terminating: it is looked at
  // again until it is gone, and the counts follow.
  PodView terminating = still_running;
  terminating.deleting = true;
  terminating.deletion_time = o_.now;
  o_.pods.push_back(terminating);
  Plan waiting = DecideAndApply();
  EXPECT_EQ(waiting.status.state, AppState::kCompleted);
  ASSERT_TRUE(waiting.requeue_after);
  std::erase_if(o_.pods, [](const PodView& p) { return p.name == "pi-exec-2"; });
  Plan gone = DecideAndApply();
  EXPECT_EQ(gone.status.executors.running, 0);
  EXPECT_TRUE(Decide(o_).actions.empty());
}

TEST_F(DecideTest, KeptExecutorsWhenDeleteOnTerminationIsOff) {
  json spec = BaseSpec();
  spec["executor"]["deleteOnTermination"] = false;
  SetSpec(spec);
  StartRunning();
  for (PodView& p : o_.pods) p.phase = "Succeeded";
  Plan plan = DecideAndApply();
  EXPECT_TRUE(Deleted(plan).empty());
  EXPECT_EQ(DecideAndApply().status.state, AppState::kCompleted);
}

TEST_F(DecideTest, DriverFailureReportsExitCodeAndMessage) {
  StartRunning();
  PodView* d = Find("pi-driver");
  d->phase = "Failed";
  d->terminated = true;
  d->exit_code = 137;
  d->terminated_reason = "OOMKilled";
  Plan plan = DecideAndApply();
  EXPECT_EQ(plan.status.state, AppState::kFailing);
  EXPECT_EQ(plan.status.reason, "OOMKilled");
  EXPECT_NE(plan.status.error_message.find("exit code 137 (OOMKilled)"), std::string::npos);
  Plan final_state = DecideAndApply();
  EXPECT_EQ(final_state.status.state, AppState::kFailed);
  EXPECT_EQ(final_state.status.reason, "OOMKilled");
  EXPECT_TRUE(HasEvent(final_state, "SparkApplicationFailed"));
}

TEST_F(DecideTest, DriverErrorLineBecomesTheMessage) {
  StartRunning();
  PodView* d = Find("pi-driver");
  d->phase = "Failed";
  d->terminated = true;
  d->exit_code = 1;
  d->terminated_reason = "Error";
  d->terminated_message = "ember-driver: error: job failed: boom\n";
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.reason, "DriverFailed");
  EXPECT_EQ(plan.status.error_message,
            "driver failed: exit code 1 (Error): ember-driver: error: job failed: boom");
}

TEST_F(DecideTest, EvictedDriver) {
  StartRunning();
  PodView* d = Find("pi-driver");
  d->phase = "Failed";
  d->pod_reason = "Evicted";
  d->pod_message = "The node was low on resource: memory.";
  EXPECT_EQ(Decide(o_).status.reason, "Evicted");
}

TEST_F(DecideTest, FailedRunIsRetriedAfterItsIntervalUntilRetriesRunOut) {
  json spec = BaseSpec();
  spec["restartPolicy"] = {{"type", "OnFailure"}, {"onFailureRetries", 1}, {"onFailureRetryInterval", 30}};
  SetSpec(spec);
  StartRunning();
  Find("pi-driver")->phase = "Failed";
  DecideAndApply();                   // FAILING: stop the executors
  Plan rerun = DecideAndApply();      // nothing runs: PENDING_RERUN
  EXPECT_EQ(rerun.status.state, AppState::kPendingRerun);
  EXPECT_EQ(rerun.status.reason, "RetryAfterFailure");
  Plan waiting = DecideAndApply();    // deletes the failed driver, waits
  EXPECT_EQ(waiting.status.state, AppState::kPendingRerun);
  EXPECT_TRUE(o_.pods.empty());
  Advance(seconds(29));
  EXPECT_EQ(DecideAndApply().status.state, AppState::kPendingRerun);
  Advance(seconds(1));
  Plan second = DecideAndApply();
  EXPECT_EQ(second.status.state, AppState::kSubmitted);
  EXPECT_EQ(second.status.submission_id, SubmissionId(kUid, 1, 2));
  EXPECT_EQ(Created(second).size(), 3u);
  // Run 2 fails too: executionAttempts (2) > onFailureRetries (1).
  for (PodView& p : o_.pods) p.phase = "Running";
  DecideAndApply();
  Find("pi-driver")->phase = "Failed";
  DecideAndApply();
  EXPECT_EQ(DecideAndApply().status.state, AppState::kFailed);
  EXPECT_EQ(o_.status.execution_attempts, 2);
}

TEST_F(DecideTest, AlwaysRerunsAfterSuccess) {
  json spec = BaseSpec();
  spec["restartPolicy"] = {{"type", "Always"}, {"onFailureRetryInterval", 0}};
  SetSpec(spec);
  StartRunning();
  for (PodView& p : o_.pods) p.phase = "Succeeded";
  Plan rerun = DecideAndApply();  // nothing runs any more: straight to the rerun
  EXPECT_EQ(rerun.status.state, AppState::kPendingRerun);
  EXPECT_EQ(rerun.status.reason, "RestartAlways");
  EXPECT_EQ(Deleted(rerun), (std::vector<std::string>{"pi-driver", "pi-exec-1", "pi-exec-2"}));
  EXPECT_EQ(DecideAndApply().status.state, AppState::kSubmitted);
}

TEST_F(DecideTest, FailedExecutorIsReplacedWithANewId) {
  StartRunning();
  PodView* e = Find("pi-exec-2");
  e->phase = "Failed";
  e->terminated = true;
  e->exit_code = 137;
  e->terminated_reason = "OOMKilled";
  Plan plan = DecideAndApply();
  EXPECT_EQ(plan.status.state, AppState::kRunning);
  EXPECT_EQ(Deleted(plan), (std::vector<std::string>{"pi-exec-2"}));
  EXPECT_EQ(Created(plan), (std::vector<std::string>{"pi-exec-3"}));
  EXPECT_EQ(plan.status.executors.failed, 1);
  EXPECT_EQ(plan.status.executors.active, (std::vector<int>{1, 3}));
  EXPECT_EQ(plan.status.executors.next_id, 4);
  ASSERT_EQ(plan.status.recent_failures.size(), 1u);
  EXPECT_EQ(plan.status.recent_failures[0].reason, "OOMKilled");
  EXPECT_EQ(plan.status.recent_failures[0].exit_code, 137);
  EXPECT_TRUE(HasEvent(plan, "SparkExecutorFailed"));
  EXPECT_TRUE(Decide(o_).actions.empty()) << "replacement already made";
}

TEST_F(DecideTest, TooManyExecutorFailuresFailTheRun) {
  json spec = BaseSpec();
  spec["executor"]["maxFailures"] = 2;
  SetSpec(spec);
  StartRunning();
  for (int round = 0; round < 3; ++round) {
    for (PodView& p : o_.pods) {
      if (p.role == "executor") p.phase = "Failed";
    }
    Plan plan = DecideAndApply();
    if (plan.status.state != AppState::kRunning) {
      EXPECT_EQ(plan.status.state, AppState::kFailing);
      EXPECT_EQ(plan.status.reason, "ExecutorFailures");
      EXPECT_NE(plan.status.error_message.find("exceed executor.maxFailures (2)"), std::string::npos);
      return;
    }
  }
  FAIL() << "the run survived " << o_.status.executors.failed << " executor failures";
}

TEST_F(DecideTest, RecentFailuresStayBounded) {
  json spec = BaseSpec();
  spec["executor"]["maxFailures"] = 1000;
  SetSpec(spec);
  StartRunning();
  for (int round = 0; round < 20; ++round) {
    for (PodView& p : o_.pods) {
      if (p.role == "executor") p.phase = "Failed";
    }
    DecideAndApply();
  }
  EXPECT_EQ(o_.status.executors.failed, 40);
  EXPECT_EQ(o_.status.recent_failures.size(), kMaxRecentFailures);
  EXPECT_LE(o_.status.executors.active.size(), 2u);
  EXPECT_LT(o_.status.ToJson().dump().size(), 4096u);
}

TEST_F(DecideTest, MissingExecutorIsConfirmedLiveBeforeItCounts) {
  StartRunning();
  std::erase_if(o_.pods, [](const PodView& p) { return p.name == "pi-exec-1"; });
  Plan unsure = Decide(o_);
  EXPECT_TRUE(unsure.need_live_pods);
  o_.pods_confirmed = true;
  Plan plan = Decide(o_);
  EXPECT_FALSE(plan.need_live_pods);
  EXPECT_EQ(plan.status.executors.failed, 1);
  EXPECT_EQ(plan.status.recent_failures.back().reason, "Deleted");
  EXPECT_EQ(Created(plan), (std::vector<std::string>{"pi-exec-3"}));
}

TEST_F(DecideTest, MissingDriverIsConfirmedLiveBeforeTheRunFails) {
  StartRunning();
  std::erase_if(o_.pods, [](const PodView& p) { return p.role == "driver"; });
  Plan unsure = Decide(o_);
  EXPECT_TRUE(unsure.need_live_pods);
  EXPECT_EQ(unsure.status.state, AppState::kRunning);
  o_.pods_confirmed = true;
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kFailing);
  EXPECT_EQ(plan.status.reason, "DriverPodMissing");
}

TEST_F(DecideTest, AssumedPodsAreNotLost) {
  DecideAndApply();
  for (PodView& p : o_.pods) {
    p.assumed = true;  // created by us, not in the cache yet
    p.created.reset();
  }
  Plan plan = Decide(o_);
  EXPECT_FALSE(plan.need_live_pods);
  EXPECT_TRUE(plan.actions.empty());
}

TEST_F(DecideTest, ExecutorThatNeverStartsIsReplaced) {
  DecideAndApply();
  Find("pi-driver")->phase = "Running";
  Find("pi-exec-1")->phase = "Running";
  Find("pi-exec-2")->pending_reason = "Unschedulable";
  Advance(std::chrono::minutes(5));
  Plan plan = Decide(o_);
  EXPECT_EQ(Deleted(plan), (std::vector<std::string>{"pi-exec-2"}));
  EXPECT_EQ(Created(plan), (std::vector<std::string>{"pi-exec-3"}));
  EXPECT_EQ(plan.status.recent_failures.back().reason, "Unschedulable");
}

TEST_F(DecideTest, ExecutorPodCreatedBeforeACrashIsAdopted) {
  StartRunning();
  o_.pods.push_back(Executor(3, "Pending"));  // created, never recorded
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.executors.next_id, 4);
  EXPECT_EQ(plan.status.executors.active, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(Created(plan).empty());
}

TEST_F(DecideTest, FinishedExecutorsAreNotReplaced) {
  StartRunning();
  Find("pi-exec-1")->phase = "Succeeded";
  Plan plan = Decide(o_);
  EXPECT_TRUE(Created(plan).empty());
  EXPECT_EQ(plan.status.executors.succeeded, 1);
}

TEST_F(DecideTest, SuspendAndResume) {
  StartRunning();
  json spec = BaseSpec();
  spec["suspend"] = true;
  SetSpec(spec);
  o_.generation = 2;
  Plan suspending = DecideAndApply();
  EXPECT_EQ(suspending.status.state, AppState::kSuspending);
  EXPECT_EQ(Deleted(suspending).size(), 3u);
  Plan suspended = DecideAndApply();
  EXPECT_EQ(suspended.status.state, AppState::kSuspended);
  EXPECT_TRUE(HasEvent(suspended, "SparkApplicationSuspended"));
  EXPECT_TRUE(Decide(o_).actions.empty());
  spec["suspend"] = false;
  SetSpec(spec);
  o_.generation = 3;
  Plan resumed = DecideAndApply();
  EXPECT_EQ(resumed.status.state, AppState::kSubmitted);
  EXPECT_EQ(resumed.status.submission_attempts, 2);
  EXPECT_TRUE(HasEvent(resumed, "SparkApplicationResumed"));
}

TEST_F(DecideTest, SuspendedFromTheStartNeverRuns) {
  json spec = BaseSpec();
  spec["suspend"] = true;
  SetSpec(spec);
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kSuspended);
  EXPECT_TRUE(Created(plan).empty());
}

TEST_F(DecideTest, SpecChangeOfARunningApplicationRerunsIt) {
  StartRunning();
  json spec = BaseSpec();
  spec["arguments"] = {"100"};
  SetSpec(spec);
  o_.generation = 2;
  Plan invalidating = DecideAndApply();
  EXPECT_EQ(invalidating.status.state, AppState::kInvalidating);
  EXPECT_EQ(Deleted(invalidating).size(), 3u);
  EXPECT_TRUE(HasEvent(invalidating, "SparkApplicationInvalidated"));
  Plan rerun = DecideAndApply();
  EXPECT_EQ(rerun.status.state, AppState::kSubmitted);
  EXPECT_EQ(rerun.status.submission_attempts, 1) << "a new spec starts a fresh count";
  EXPECT_EQ(rerun.status.submission_id, SubmissionId(kUid, 2, 1))
      << "the new run's pods must not carry the old run's submission id";
  for (const Action& a : rerun.actions) {
    if (a.kind != ActionKind::kCreatePod) continue;
    EXPECT_EQ(a.object["metadata"]["labels"]["ember.dev/submission-id"], SubmissionId(kUid, 2, 1)) << a.name;
  }
  EXPECT_EQ(rerun.status.spec_hash, SpecHash(spec));
  const json& driver = std::find_if(rerun.actions.begin(), rerun.actions.end(), [](const Action& a) {
                         return a.name == "pi-driver";
                       })->object;
  EXPECT_EQ(driver["spec"]["containers"][0]["args"].back(), "100");
}

TEST_F(DecideTest, InPlaceFieldsDoNotRerun) {
  StartRunning();
  json spec = BaseSpec();
  spec["timeToLiveSeconds"] = 60;
  SetSpec(spec);
  o_.generation = 2;
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kRunning);
  EXPECT_TRUE(plan.actions.empty());
  EXPECT_EQ(plan.status.observed_generation, 2);
}

TEST_F(DecideTest, SpecChangeOfAFinishedApplicationStartsItAgain) {
  StartRunning();
  for (PodView& p : o_.pods) p.phase = "Succeeded";
  DecideAndApply();
  ASSERT_EQ(DecideAndApply().status.state, AppState::kCompleted);
  json spec = BaseSpec();
  spec["arguments"] = {"7"};
  SetSpec(spec);
  o_.generation = 2;
  EXPECT_EQ(DecideAndApply().status.state, AppState::kInvalidating);
  Plan rerun = DecideAndApply();
  EXPECT_EQ(rerun.status.state, AppState::kSubmitted);
  EXPECT_FALSE(rerun.status.termination_time);
  EXPECT_EQ(rerun.status.submission_id, SubmissionId(kUid, 2, 1));
}

TEST_F(DecideTest, TimeToLiveDeletesTheApplication) {
  json spec = BaseSpec();
  spec["timeToLiveSeconds"] = 120;
  SetSpec(spec);
  StartRunning();
  for (PodView& p : o_.pods) p.phase = "Succeeded";
  DecideAndApply();
  Plan completed = DecideAndApply();
  ASSERT_EQ(completed.status.state, AppState::kCompleted);
  ASSERT_TRUE(completed.requeue_after);
  EXPECT_EQ(*completed.requeue_after, seconds(120));
  Advance(seconds(119));
  EXPECT_EQ(Count(Decide(o_), ActionKind::kDeleteApplication), 0);
  Advance(seconds(1));
  Plan expired = Decide(o_);
  ASSERT_EQ(Count(expired, ActionKind::kDeleteApplication), 1);
  EXPECT_TRUE(HasEvent(expired, "SparkApplicationExpired"));
}

TEST_F(DecideTest, RefusedCreateFailsTheSubmission) {
  o_.create_failure = CreateFailure{"pod pi-driver", false,
                                    PermissionDeniedError("violates PodSecurity \"restricted:latest\""),
                                    "Forbidden"};
  // The executors were created before the refusal arrived.
  o_.pods.push_back(Executor(1, "Pending"));
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kSubmissionFailed);
  EXPECT_EQ(plan.status.reason, "Forbidden");
  EXPECT_NE(plan.status.error_message.find("creating pod pi-driver"), std::string::npos);
  EXPECT_EQ(Deleted(plan), (std::vector<std::string>{"pi-exec-1"}));
  EXPECT_TRUE(Created(plan).empty());
  EXPECT_EQ(plan.status.submission_attempts, 1);
}

TEST_F(DecideTest, NoExecutorImageIsASubmissionFailure) {
  SetSpec({{"driver", {{"image", "only-driver:1"}}}, {"mainApplicationFile", "/app.so"}});
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kSubmissionFailed);
  EXPECT_EQ(plan.status.reason, "NoExecutorImage");
  o_.default_executor_image = "ember-executor:0.1.0";
  o_.status = AppStatus{};
  Plan with_default = Decide(o_);
  EXPECT_EQ(with_default.status.state, AppState::kSubmitted);
  EXPECT_EQ(with_default.actions.back().object["spec"]["containers"][0]["image"], "ember-executor:0.1.0");
}

TEST_F(DecideTest, PodsOfAnOlderRunGoBeforeANewOneStarts) {
  o_.status.state = AppState::kPendingRerun;
  o_.status.submission_attempts = 1;
  o_.status.last_transition_time = kT0 - std::chrono::hours(1);
  o_.pods.push_back(Driver("Failed", 1));
  o_.pods.push_back(Executor(1, "Running", 1));
  Plan plan = Decide(o_);
  EXPECT_EQ(Deleted(plan), (std::vector<std::string>{"pi-driver", "pi-exec-1"}));
  EXPECT_TRUE(Created(plan).empty());
  EXPECT_EQ(plan.status.state, AppState::kPendingRerun);
}

TEST_F(DecideTest, PodStuckTerminatingIsForceDeleted) {
  o_.status.state = AppState::kSuspending;
  PodView p = Executor(1, "Running");
  p.deleting = true;
  p.deletion_time = kT0;
  o_.pods.push_back(p);
  EXPECT_TRUE(Decide(o_).actions.empty()) << "within its grace period";
  Advance(kForceDeleteAfter);
  Plan plan = Decide(o_);
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_TRUE(plan.actions[0].force);
}

TEST_F(DecideTest, InvalidSpecFailsWithTheField) {
  o_.spec.reset();
  o_.spec_error = InvalidArgumentError("spec.executor.memory: invalid value '512'");
  Plan plan = Decide(o_);
  EXPECT_EQ(plan.status.state, AppState::kFailed);
  EXPECT_EQ(plan.status.reason, "InvalidSpec");
  EXPECT_EQ(plan.status.error_message, "spec.executor.memory: invalid value '512'");
}

TEST_F(DecideTest, ConditionsFollowTheState) {
  StartRunning();
  auto condition = [&](const std::string& type) {
    for (const Condition& c : o_.status.conditions) {
      if (c.type == type) return c;
    }
    return Condition{};
  };
  EXPECT_EQ(condition("Submitted").status, "True");
  EXPECT_EQ(condition("Running").status, "True");
  EXPECT_EQ(condition("Complete").status, "False");
  const auto running_since = condition("Running").last_transition_time;
  Advance(seconds(30));
  DecideAndApply();
  EXPECT_EQ(condition("Running").last_transition_time, running_since) << "moves only on a flip";
  for (PodView& p : o_.pods) p.phase = "Succeeded";
  DecideAndApply();
  DecideAndApply();
  EXPECT_EQ(condition("Complete").status, "True");
  EXPECT_EQ(condition("Running").status, "False");
  EXPECT_EQ(condition("Failed").status, "False");
}

}  // namespace
}  // namespace ember::sparkapp
