// The web UI's pieces on their own: the store folding events into Spark's
// REST shapes, retention, the event log's format and its failure modes, and
// the HTTP server and router on a real loopback socket.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "process_runner.h"
#include "runtime/events/event_log.h"
#include "runtime/ui/history.h"
#include "runtime/ui/ui_server.h"

namespace ember::ui {
namespace {

using events::Event;
using nlohmann::json;

events::TaskMetrics Metrics(double seconds, uint64_t in, uint64_t out, uint64_t read,
                            uint64_t written) {
  events::TaskMetrics m;
  m.run_seconds = seconds;
  m.records_in = in;
  m.records_out = out;
  m.shuffle_read_bytes = read;
  m.shuffle_write_bytes = written;
  m.input_bytes = in * 10;
  return m;
}

// A word count as the scheduler reports it: stage 0 (textFile, map) writes a
// shuffle with two tasks; stage 1 reads it with two tasks, one of which
// fails once.
std::vector<Event> WordCountEvents() {
  std::vector<Event> e;
  e.push_back(events::ApplicationStart{1000,
                                       "app-1",
                                       "wc",
                                       "alice",
                                       "local-cluster[2,1]",
                                       "0.1.0",
                                       {{"ember.task.maxFailures", "4"}}});
  e.push_back(events::ExecutorAdded{1001, "1", "127.0.0.1:7001", 1});
  e.push_back(events::ExecutorAdded{1002, "2", "127.0.0.1:7002", 1});
  events::StageInfo map{0, "reduceByKey", 2, {}, {"textFile", "map"}, false, true, false};
  events::StageInfo result{1, "collect", 2, {0}, {"reduceByKey"}, true, false, false};
  e.push_back(events::JobStart{1100, 0, "collect", {map, result}});
  e.push_back(events::StageSubmitted{1101, 0, 2});
  e.push_back(events::TaskStart{1102, 1, 0, 0, 0, "1"});
  e.push_back(events::TaskStart{1103, 2, 0, 1, 0, "2"});
  e.push_back(events::TaskEnd{1200,
                              1,
                              0,
                              events::TaskEndState::kSuccess,
                              "",
                              Metrics(0.09, 100, 40, 0, 400),
                              {{7, 0, 4096}}});
  e.push_back(events::TaskEnd{
      1300, 2, 0, events::TaskEndState::kSuccess, "", Metrics(0.19, 300, 60, 0, 600), {}});
  e.push_back(events::StageCompleted{1301, 0, true, ""});
  e.push_back(events::StageSubmitted{1302, 1, 2});
  e.push_back(events::TaskStart{1303, 3, 1, 0, 0, "1"});
  e.push_back(events::TaskStart{1304, 4, 1, 1, 0, "2"});
  e.push_back(events::TaskEnd{1350, 4, 1, events::TaskEndState::kFailed, "boom", {}, {}});
  e.push_back(events::TaskStart{1351, 5, 1, 1, 1, "2"});
  e.push_back(events::TaskEnd{
      1400, 3, 1, events::TaskEndState::kSuccess, "", Metrics(0.04, 50, 5, 500, 0), {}});
  e.push_back(events::TaskEnd{
      1450, 5, 1, events::TaskEndState::kSuccess, "", Metrics(0.05, 50, 7, 500, 0), {}});
  e.push_back(events::StageCompleted{1451, 1, true, ""});
  e.push_back(events::JobEnd{1452, 0, true, ""});
  return e;
}

TEST(EventLogTest, HandWrittenTaskLinesEqualTheirJson) {
  events::TaskEnd end{7,
                      9,
                      2,
                      events::TaskEndState::kFailed,
                      "bad \"quote\"\n\tand caf\u00e9",
                      Metrics(0.125, 3, 4, 5, 6),
                      {{1, 2, 3}, {4, 5, 6}}};
  end.metrics.spilled_bytes = 1ull << 40;
  const std::vector<Event> cases = {
      events::TaskStart{1, 2, 3, 4, 5, "exec \"1\""}, end,
      events::TaskEnd{8, 10, 2, events::TaskEndState::kKilled, "", {}, {}}};
  for (const Event& e : cases) {
    std::string line;
    events::AppendJsonLine(line, e);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(json::parse(line), ToJson(e)) << line;
    auto back = events::FromJson(json::parse(line));
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(ToJson(*back), ToJson(e));
  }
}

std::shared_ptr<AppStore> Fold(const std::vector<Event>& events, AppStore::Limits limits = {}) {
  auto store = std::make_shared<AppStore>(limits);
  for (const Event& e : events) store->OnEvent(e);
  return store;
}

TEST(AppStoreTest, FoldsAJobIntoSparkShapedAnswers) {
  auto store = Fold(WordCountEvents());
  json jobs = *store->Jobs("");
  ASSERT_EQ(jobs.size(), 1u);
  const json& job = jobs[0];
  EXPECT_EQ(job["jobId"], 0);
  EXPECT_EQ(job["status"], "SUCCEEDED");
  EXPECT_EQ(job["numTasks"], 4);
  EXPECT_EQ(job["numCompletedTasks"], 4);
  EXPECT_EQ(job["numCompletedIndices"], 4);
  EXPECT_EQ(job["numFailedTasks"], 1);
  EXPECT_EQ(job["numActiveTasks"], 0);
  EXPECT_EQ(job["numCompletedStages"], 2);
  EXPECT_EQ(job["stageIds"], json::array({0, 1}));
  EXPECT_EQ(job["dag"][1]["parentIds"], json::array({0}));
  EXPECT_EQ(job["dag"][0]["operations"], json::array({"textFile", "map"}));
  EXPECT_EQ(job["submissionTime"], "1970-01-01T00:00:01.100GMT");
  EXPECT_EQ(job["completionTime"], "1970-01-01T00:00:01.452GMT");

  json map = *store->StageAttempt(0, 0);
  EXPECT_EQ(map["status"], "COMPLETE");
  EXPECT_EQ(map["numCompleteTasks"], 2);
  EXPECT_EQ(map["inputRecords"], 400);
  EXPECT_EQ(map["inputBytes"], 4000);
  EXPECT_EQ(map["shuffleWriteBytes"], 1000);
  EXPECT_EQ(map["shuffleWriteRecords"], 100);
  EXPECT_EQ(map["outputRecords"], 0);
  EXPECT_EQ(map["executorRunTime"], 280);
  EXPECT_EQ(map["tasks"]["1"]["duration"], 98);
  EXPECT_EQ(map["tasks"]["1"]["host"], "127.0.0.1:7001");
  EXPECT_EQ(map["taskSummary"]["executorRunTime"], json::array({90, 90, 190, 190, 190}));

  json result = *store->StageAttempt(1, 0);
  EXPECT_EQ(result["numCompleteTasks"], 2);
  EXPECT_EQ(result["numFailedTasks"], 1);
  EXPECT_EQ(result["shuffleReadBytes"], 1000);
  EXPECT_EQ(result["shuffleReadRecords"], 100);
  EXPECT_EQ(result["outputRecords"], 12);
  EXPECT_EQ(result["tasks"]["4"]["status"], "FAILED");
  EXPECT_EQ(result["tasks"]["4"]["errorMessage"], "boom");
  EXPECT_EQ(result["tasks"]["5"]["attempt"], 1);

  json executors = store->Executors(false);
  ASSERT_EQ(executors.size(), 2u);
  EXPECT_EQ(executors[0]["id"], "1");
  EXPECT_EQ(executors[0]["completedTasks"], 2);
  EXPECT_EQ(executors[0]["memoryUsed"], 4096);
  EXPECT_EQ(executors[1]["failedTasks"], 1);
  EXPECT_EQ(executors[1]["totalShuffleWrite"], 600);

  json summary = *store->TaskSummary(1, 0, {0.5});
  EXPECT_EQ(summary["numTasks"], 2);
  EXPECT_EQ(summary["shuffleReadMetrics"]["readBytes"], json::array({500}));

  json env = store->Environment();
  EXPECT_EQ(env["sparkProperties"][0], json::array({"ember.task.maxFailures", "4"}));
  EXPECT_EQ(env["runtime"]["master"], "local-cluster[2,1]");

  store->OnEvent(events::CacheDropped{1500, 7});
  EXPECT_EQ(store->Executors(false)[0]["memoryUsed"], 0);
  EXPECT_FALSE(store->completed());
  store->OnEvent(events::ApplicationEnd{1600, true, ""});
  EXPECT_TRUE(store->completed());
  json app = store->Application();
  EXPECT_EQ(app["attempts"][0]["duration"], 600);
  EXPECT_EQ(app["attempts"][0]["completed"], true);
  EXPECT_EQ(store->Executors(false).size(), 0u);
  EXPECT_EQ(store->Executors(true).size(), 2u);
}

TEST(AppStoreTest, UnknownIdsAndFiltersAreErrorsThatNameThem) {
  auto store = Fold(WordCountEvents());
  EXPECT_EQ(store->Job(7).status().code(), StatusCode::kNotFound);
  EXPECT_NE(store->Job(7).status().message().find("unknown job 7"), std::string::npos);
  EXPECT_EQ(store->StageAttempt(0, 3).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->StageAttempts(9).status().code(), StatusCode::kNotFound);
  auto bad = store->Jobs("done");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("\"done\""), std::string::npos);
  EXPECT_EQ(store->Stages("weird").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Jobs("succeeded")->size(), 1u);
  EXPECT_EQ(store->Jobs("running")->size(), 0u);
  EXPECT_EQ(store->Stages("complete")->size(), 2u);
}

TEST(AppStoreTest, AStageRunAgainIsANewAttemptAndAFailedJobEndsItsTasks) {
  std::vector<Event> e;
  e.push_back(events::ApplicationStart{0, "app-2", "x", "u", "local[2]", "0.1.0", {}});
  e.push_back(events::ExecutorAdded{1, "driver", "", 2});
  events::StageInfo a{0, "groupByKey", 1, {}, {"range"}, false, true, false};
  events::StageInfo b{1, "collect", 2, {0}, {"groupByKey"}, true, false, false};
  events::StageInfo c{2, "count", 1, {1}, {"x"}, true, false, false};
  e.push_back(events::JobStart{10, 0, "collect", {a, b, c}});
  e.push_back(events::StageSubmitted{11, 0, 1});
  e.push_back(events::TaskStart{12, 1, 0, 0, 0, "driver"});
  e.push_back(events::TaskEnd{13, 1, 0, events::TaskEndState::kSuccess, "", {}, {}});
  e.push_back(events::StageCompleted{14, 0, true, ""});
  e.push_back(events::StageSubmitted{15, 1, 2});
  e.push_back(events::TaskStart{16, 2, 1, 0, 0, "driver"});
  e.push_back(events::TaskStart{16, 3, 1, 1, 0, "driver"});
  // Its input is lost: the attempt fails and the stage runs again.
  e.push_back(events::StageCompleted{17, 1, false, "fetch failed: gone"});
  e.push_back(events::StageSubmitted{18, 0, 1});
  e.push_back(events::StageSubmitted{19, 1, 2});
  e.push_back(events::TaskStart{20, 4, 1, 0, 0, "driver"});
  e.push_back(events::JobEnd{30, 0, false, "task failed 4 times"});
  auto store = Fold(e);
  json attempts = *store->StageAttempts(1);
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0]["status"], "FAILED");
  EXPECT_EQ(attempts[0]["failureReason"], "fetch failed: gone");
  EXPECT_EQ(attempts[0]["tasks"]["2"]["status"], "KILLED");
  EXPECT_EQ(attempts[1]["attemptId"], 1);
  EXPECT_EQ(attempts[1]["tasks"]["4"]["status"], "KILLED");
  EXPECT_EQ(attempts[1]["tasks"]["4"]["errorMessage"], "its job ended");
  EXPECT_EQ((*store->StageAttempts(0)).size(), 2u);
  EXPECT_EQ((*store->StageAttempt(2, 0))["status"], "SKIPPED");
  json job = *store->Job(0);
  EXPECT_EQ(job["status"], "FAILED");
  EXPECT_EQ(job["failureReason"], "task failed 4 times");
  EXPECT_EQ(job["numActiveTasks"], 0);
  EXPECT_EQ(job["numKilledTasks"], 3);
  EXPECT_EQ(job["numSkippedStages"], 1);  // stage 2 never ran
  EXPECT_EQ(job["numCompletedIndices"], 1);
  // Stage 1's first attempt, and the second attempts of stages 0 and 1,
  // which the log left open.
  EXPECT_EQ(job["numFailedStages"], 3);
  EXPECT_EQ((*store->StageAttempt(0, 1))["status"], "FAILED");
  EXPECT_EQ(store->Executors(false)[0]["activeTasks"], 0);
  // A later job reusing stage 0's output shows it skipped.
  store->OnEvent(
      events::JobStart{40, 1, "count", {{0, "groupByKey", 1, {}, {"range"}, false, true, true}}});
  EXPECT_EQ((*store->Job(1))["numSkippedStages"], 1);
  EXPECT_EQ((*store->Job(1))["numTasks"], 0);
}

TEST(AppStoreTest, RetentionNeverSpinsOnRunningAttemptsOrReusesAttemptNumbers) {
  AppStore::Limits limits;
  limits.retained_stages = 1;
  auto store = std::make_shared<AppStore>(limits);
  store->OnEvent(events::ApplicationStart{0, "app-4", "x", "u", "local[2]", "0.1.0", {}});
  store->OnEvent(events::ExecutorAdded{0, "driver", "", 2});
  events::StageInfo a{0, "reduceByKey", 1, {}, {"range"}, false, true, false};
  events::StageInfo b{1, "reduceByKey", 1, {}, {"range"}, false, true, false};
  events::StageInfo c{2, "collect", 1, {0, 1}, {"join"}, true, false, false};
  store->OnEvent(events::JobStart{1, 0, "collect", {a, b, c}});
  store->OnEvent(events::StageSubmitted{2, 0, 1});
  store->OnEvent(events::StageSubmitted{2, 1, 1});
  store->OnEvent(events::TaskStart{3, 1, 0, 0, 0, "driver"});
  store->OnEvent(events::TaskStart{3, 2, 1, 0, 0, "driver"});
  // Both attempts end while their tasks still run: more finished attempts
  // than the limit, none of which may go yet.
  store->OnEvent(events::StageCompleted{4, 0, false, "lost"});
  store->OnEvent(events::StageCompleted{4, 1, false, "lost"});
  EXPECT_EQ(store->Stages("")->size(), 3u);
  store->OnEvent(events::TaskEnd{5, 1, 0, events::TaskEndState::kKilled, "", {}, {}});
  store->OnEvent(events::TaskEnd{5, 2, 1, events::TaskEndState::kKilled, "", {}, {}});
  // Stage 0 runs again: attempt 1, even once attempt 0 is dropped.
  store->OnEvent(events::StageSubmitted{6, 0, 1});
  store->OnEvent(events::TaskStart{7, 3, 0, 0, 1, "driver"});
  store->OnEvent(events::TaskEnd{8, 3, 0, events::TaskEndState::kSuccess, "", {}, {}});
  store->OnEvent(events::StageCompleted{8, 0, true, ""});
  EXPECT_EQ(store->StageAttempt(0, 0).status().code(), StatusCode::kNotFound);
  json again = *store->StageAttempt(0, 1);
  EXPECT_EQ(again["status"], "COMPLETE");
  EXPECT_EQ(again["numCompletedIndices"], 1);
  store->OnEvent(events::StageSubmitted{9, 0, 1});
  EXPECT_EQ((*store->StageAttempt(0, 2))["status"], "ACTIVE");
  // A log that ends mid-job: the job and its open stages end with it.
  store->OnEvent(events::ApplicationEnd{10, false, "driver killed"});
  json job = *store->Job(0);
  EXPECT_EQ(job["status"], "FAILED");
  EXPECT_EQ(job["failureReason"], "driver killed");
  EXPECT_EQ(job["numFailedStages"], 3);   // 0 and 1 lost, 0's third attempt cut short
  EXPECT_EQ(job["numSkippedStages"], 1);  // 2 never ran
  // One finished attempt is kept: the last, stage 2's.
  json kept = *store->Stages("");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0]["stageId"], 2);
  EXPECT_EQ(kept[0]["status"], "SKIPPED");
}

TEST(AppStoreTest, RetentionKeepsTheNewestAndCountsTheRest) {
  AppStore::Limits limits;
  limits.retained_jobs = 2;
  limits.retained_stages = 3;
  limits.retained_tasks = 4;
  auto store = std::make_shared<AppStore>(limits);
  store->OnEvent(events::ApplicationStart{0, "app-3", "x", "u", "local[1]", "0.1.0", {}});
  store->OnEvent(events::ExecutorAdded{0, "driver", "", 1});
  uint64_t task = 1;
  for (uint32_t j = 0; j < 5; ++j) {
    store->OnEvent(
        events::JobStart{1, j, "count", {{j, "count", 10, {}, {"range"}, false, false, false}}});
    store->OnEvent(events::StageSubmitted{1, j, 10});
    for (uint32_t p = 0; p < 10; ++p) {
      store->OnEvent(events::TaskStart{2, task, j, p, 0, "driver"});
      store->OnEvent(events::TaskEnd{
          3, task++, j, events::TaskEndState::kSuccess, "", Metrics(0.001, 1, 1, 0, 0), {}});
    }
    store->OnEvent(events::StageCompleted{4, j, true, ""});
    store->OnEvent(events::JobEnd{5, j, true, ""});
  }
  json jobs = *store->Jobs("");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0]["jobId"], 4);
  EXPECT_EQ(jobs[1]["jobId"], 3);
  EXPECT_EQ(store->Stages("")->size(), 3u);
  json app = store->Application();
  EXPECT_EQ(app["attempts"][0]["droppedJobs"], 3);
  EXPECT_EQ(app["attempts"][0]["droppedStages"], 2);
  json stage = *store->StageAttempt(4, 0);
  EXPECT_EQ(stage["tasks"].size(), 4u);
  EXPECT_EQ(stage["droppedTasks"], 6);
  EXPECT_EQ(stage["numCompleteTasks"], 10);  // the counts cover every task
  EXPECT_EQ(stage["inputRecords"], 10);
  EXPECT_EQ(store->Executors(false)[0]["completedTasks"], 50);
}

TEST(EventLogTest, EventsRoundTripAndACutLastLineIsDropped) {
  const std::string dir = testing::MakeTempDir("ember-eventlog");
  {
    auto writer = events::EventLogWriter::Open(dir + "/logs", "app-1");
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    for (const Event& e : WordCountEvents()) (*writer)->OnEvent(e);
    // Before Close, the writer's thread writes out what a boundary ended.
    EXPECT_TRUE(testing::WaitUntil([&] {
      return testing::ReadFileOrEmpty(dir + "/logs/app-1.jsonl.inprogress").find("\"JobEnd\"") !=
             std::string::npos;
    }));
    ASSERT_TRUE((*writer)->Close().ok());
    auto again = events::EventLogWriter::Open(dir + "/logs", "app-1");
    EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  }
  const std::string path = dir + "/logs/app-1.jsonl";
  ASSERT_TRUE(std::filesystem::exists(path));
  std::vector<Event> read;
  auto summary = events::ReadEventLog(path, [&](Event&& e) { read.push_back(std::move(e)); });
  ASSERT_TRUE(summary.ok());
  const auto original = WordCountEvents();
  ASSERT_EQ(read.size(), original.size());
  for (size_t i = 0; i < read.size(); ++i) EXPECT_EQ(ToJson(read[i]), ToJson(original[i])) << i;

  // A line that is not JSON, one that is not an event, and a cut-off tail.
  {
    std::ofstream out(path, std::ios::app);
    out << "not json\n{\"event\":\"TaskEnd\",\"time\":1}\n{\"event\":\"JobStart\",\"ti";
  }
  read.clear();
  summary = events::ReadEventLog(path, [&](Event&& e) { read.push_back(std::move(e)); });
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(read.size(), original.size());
  EXPECT_EQ(summary->bad_lines, 2u);
  EXPECT_TRUE(summary->truncated_tail);

  auto missing = events::ReadEventLog(dir + "/nope.jsonl", [](Event&&) {});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto not_event = events::FromJson(json{{"event", "TaskStart"}, {"time", 1}});
  ASSERT_FALSE(not_event.ok());
  EXPECT_NE(not_event.status().message().find("taskId"), std::string::npos);
  // Numbers out of range are refused, not wrapped.
  json negative = ToJson(events::TaskStart{1, 2, 3, 4, 5, "e"});
  negative["stageId"] = -1;
  auto wrapped = events::FromJson(negative);
  ASSERT_FALSE(wrapped.ok());
  EXPECT_NE(wrapped.status().message().find("stageId"), std::string::npos);
  json huge = ToJson(events::TaskStart{1, 2, 3, 4, 5, "e"});
  huge["taskId"] = 1e30;
  EXPECT_FALSE(events::FromJson(huge).ok());
  json too_big = ToJson(events::TaskStart{1, 2, 3, 4, 5, "e"});
  too_big["index"] = uint64_t{1} << 40;
  EXPECT_FALSE(events::FromJson(too_big).ok());
  events::StageInfo stage{1, "collect", 2, {0}, {"map"}, true, false, false};
  for (const json& bad : {json(-1), json(uint64_t{1} << 40), json("0")}) {
    json job = ToJson(events::JobStart{1, 0, "count", {stage}});
    job["stages"][0]["parentIds"][0] = bad;
    auto refused = events::FromJson(job);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("parentIds"), std::string::npos)
        << refused.status().message();
  }
  std::filesystem::remove_all(dir);
}

TEST(EventLogTest, AnUnwritableDirectoryIsAnErrorNamingIt) {
  const std::string dir = testing::MakeTempDir("ember-eventlog");
  testing::WriteFileOrDie(dir + "/file", "x");
  auto writer = events::EventLogWriter::Open(dir + "/file/sub", "app-1");
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find(dir + "/file/sub"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(SecretKeyTest, NamesThatHoldSecretsAreRedacted) {
  EXPECT_TRUE(events::IsSecretKey("ember.authenticate.secret"));
  EXPECT_TRUE(events::IsSecretKey("spark.ssl.keyStorePassword"));
  EXPECT_TRUE(events::IsSecretKey("myapp.api.TOKEN"));
  EXPECT_FALSE(events::IsSecretKey("ember.task.maxFailures"));
}

class UiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Fold(WordCountEvents());
    auto server = StartUiServer("127.0.0.1", 0, 0, std::make_shared<SingleAppSource>(store_));
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
    port_ = server_->port();
  }
  std::shared_ptr<AppStore> store_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(UiServerTest, ServesThePagesAndTheApi) {
  auto page = testing::HttpGet(port_, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.headers.find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("static/app.js"), std::string::npos);
  auto js = testing::HttpGet(port_, "/static/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_NE(js.body.find("api/v1/"), std::string::npos);
  EXPECT_EQ(testing::HttpGet(port_, "/static/style.css").status, 200);

  auto apps = testing::HttpGet(port_, "/api/v1/applications");
  ASSERT_EQ(apps.status, 200);
  EXPECT_EQ(json::parse(apps.body)[0]["id"], "app-1");
  auto jobs = testing::HttpGet(port_, "/api/v1/applications/app-1/jobs?status=succeeded");
  ASSERT_EQ(jobs.status, 200);
  EXPECT_EQ(json::parse(jobs.body)[0]["numCompletedTasks"], 4);
  auto list =
      testing::HttpGet(port_, "/api/v1/applications/app-1/stages/1/0/taskList?offset=1&length=1");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(json::parse(list.body)[0]["taskId"], 4);
  auto summary =
      testing::HttpGet(port_, "/api/v1/applications/app-1/stages/0/0/taskSummary?quantiles=0,1");
  ASSERT_EQ(summary.status, 200);
  EXPECT_EQ(json::parse(summary.body)["executorRunTime"], json::array({90, 190}));
  EXPECT_EQ(testing::HttpGet(port_, "/api/v1/applications/app-1/allexecutors").status, 200);
  EXPECT_EQ(testing::HttpGet(port_, "/api/v1/applications/app-1/environment").status, 200);
}

TEST_F(UiServerTest, BadRequestsGetCleanClientErrors) {
  auto expect = [&](const std::string& path, int status, const std::string& says) {
    auto answer = testing::HttpGet(port_, path);
    EXPECT_EQ(answer.status, status) << path;
    auto body = json::parse(answer.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << path << ": " << answer.body;
    EXPECT_NE(body["error"].get<std::string>().find(says), std::string::npos)
        << path << ": " << answer.body;
  };
  expect("/api/v1/applications/app-9/jobs", 404, "unknown application app-9");
  expect("/api/v1/applications/app-1/jobs/12", 404, "unknown job 12");
  expect("/api/v1/applications/app-1/jobs/x1", 400, "job id \"x1\" is not a number");
  expect("/api/v1/applications/app-1/jobs/99999999999999999999", 400, "job id");
  expect("/api/v1/applications/app-1/jobs?status=bogus", 400, "\"bogus\"");
  expect("/api/v1/applications/app-1/stages/0/7", 404, "unknown stage 0 attempt 7");
  expect("/api/v1/applications/app-1/stages/0/0/taskSummary?quantiles=0.5,2", 400, "quantiles");
  expect("/api/v1/applications/app-1/stages/0/0/taskList?length=-1", 400, "length");
  expect("/api/v1/applications/app-1/whatever", 404, "no such API path");
  expect("/api/v1/applications/app-1/jobs?q=" + std::string(9000, 'a'), 414, "more than 8192");
  EXPECT_EQ(testing::HttpGet(port_, "/nothing/here").status, 404);

  auto post =
      testing::HttpExchange(port_,
                            "POST /api/v1/applications HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                            "Connection: close\r\n\r\n");
  EXPECT_EQ(post.status, 405);
  auto garbage = testing::HttpExchange(port_, "GARBAGE\r\n\r\n");
  EXPECT_GE(garbage.status, 400);
  EXPECT_LT(garbage.status, 500);
  // A head beyond civetweb's 16 KiB bound is refused without being held.
  auto huge =
      testing::HttpExchange(port_, "GET /api/v1/applications HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                       std::string(64 << 10, 'b') + "\r\n\r\n");
  EXPECT_TRUE(huge.status == 0 || (huge.status >= 400 && huge.status < 500)) << huge.status;
  // Still serving.
  EXPECT_EQ(testing::HttpGet(port_, "/api/v1/applications").status, 200);
}

TEST_F(UiServerTest, SurvivesAHammeringAndAnswersConsistently) {
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string path = (i + t) % 3 == 0   ? "/api/v1/applications/app-1/stages/0/0"
                                 : (i + t) % 3 == 1 ? "/static/app.js"
                                                    : "/api/v1/applications/app-1/jobs/zz";
        const auto answer = testing::HttpGet(port_, path);
        (answer.status == 200 || answer.status == 400 ? ok : bad)++;
      }
    });
  }
  // The store keeps changing under the readers.
  for (uint64_t i = 0; i < 200; ++i) {
    store_->OnEvent(events::ExecutorAdded{2000, std::to_string(100 + i % 5), "h:1", 1});
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
  EXPECT_EQ(bad.load(), 0);
}

TEST(HistorySourceTest, ServesEveryLogAndSkipsFilesThatAreNotLogs) {
  const std::string dir = testing::MakeTempDir("ember-history");
  {
    auto writer = events::EventLogWriter::Open(dir, "app-1");
    ASSERT_TRUE(writer.ok());
    for (const Event& e : WordCountEvents()) (*writer)->OnEvent(e);
    (*writer)->OnEvent(events::ApplicationEnd{2000, true, ""});
    ASSERT_TRUE((*writer)->Close().ok());
  }
  testing::WriteFileOrDie(dir + "/junk.jsonl", "hello\n");
  testing::WriteFileOrDie(dir + "/README", "not a log\n");
  {
    // A driver killed mid-job: an .inprogress log with a cut last line.
    std::ofstream out(dir + "/app-2.jsonl.inprogress");
    out << ToJson(events::ApplicationStart{5000, "app-2", "y", "u", "local[1]", "0.1.0", {}}).dump()
        << "\n"
        << ToJson(events::JobStart{5001, 0, "count", {}}).dump() << "\n{\"event\":";
  }
  HistorySource source(dir, AppStore::Limits{});
  const json apps = source.Applications();
  ASSERT_EQ(apps.size(), 2u) << apps.dump();
  EXPECT_EQ(apps[0]["id"], "app-2") << "newest first";
  EXPECT_EQ(apps[1]["id"], "app-1");
  auto one = source.Find("app-1");
  ASSERT_NE(one, nullptr);
  EXPECT_TRUE(one->completed());
  EXPECT_EQ(*one->Jobs(""), *Fold(WordCountEvents())->Jobs(""));
  auto two = source.Find("app-2");
  ASSERT_NE(two, nullptr);
  EXPECT_FALSE(two->completed());
  EXPECT_EQ((*two->Jobs(""))[0]["status"], "RUNNING");
  EXPECT_EQ(source.Find("junk"), nullptr);

  // The in-progress log grows: only what was added is read, into the same
  // store, once its line is complete.
  {
    std::ofstream out(dir + "/app-2.jsonl.inprogress", std::ios::app);
    out << "\"JobEnd\",\"time\":5002,\"jobId\":0,\"succeeded\":true,\"error\":\"\"}\n";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past the rescan interval
  auto grown = source.Find("app-2");
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(grown, two);
  EXPECT_EQ((*grown->Jobs(""))[0]["status"], "SUCCEEDED");
  std::filesystem::remove_all(dir);
}

// Five logs and room for two stores: every application is listed, each one
// asked for is answered in full (read again from its log when it was
// evicted), and no more than two stores are ever held.
TEST(HistorySourceTest, HoldsAtMostMaxLoadedStoresAndReadsOthersAgainWhenAsked) {
  const std::string dir = testing::MakeTempDir("ember-history");
  const auto log_of = [](const std::string& id) {
    std::vector<Event> events = WordCountEvents();
    std::get<events::ApplicationStart>(events.front()).app_id = id;
    events.push_back(events::ApplicationEnd{2000, true, ""});
    return events;
  };
  const json want_jobs = *Fold(log_of("x"))->Jobs("");
  const json want_stages = *Fold(log_of("x"))->Stages("");
  for (int i = 1; i <= 5; ++i) {
    auto writer = events::EventLogWriter::Open(dir, "app-" + std::to_string(i));
    ASSERT_TRUE(writer.ok());
    for (const Event& e : log_of("app-" + std::to_string(i))) (*writer)->OnEvent(e);
    ASSERT_TRUE((*writer)->Close().ok());
  }
  HistorySource source(dir, AppStore::Limits{}, 2);
  const json apps = source.Applications();
  ASSERT_EQ(apps.size(), 5u) << apps.dump();
  EXPECT_LE(source.LoadedForTest(), 2u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(apps[static_cast<size_t>(i)]["id"], "app-" + std::to_string(5 - i));
    EXPECT_EQ(apps[static_cast<size_t>(i)]["attempts"][0]["completed"], true);
    EXPECT_EQ(apps[static_cast<size_t>(i)]["attempts"][0]["duration"], 1000);
  }
  // Round and round, so that every visit finds its store evicted.
  for (int round = 0; round < 2; ++round) {
    for (int i = 1; i <= 5; ++i) {
      auto store = source.Find("app-" + std::to_string(i));
      ASSERT_NE(store, nullptr) << "app-" << i;
      EXPECT_EQ(store->app_id(), "app-" + std::to_string(i));
      EXPECT_EQ(*store->Jobs(""), want_jobs) << "app-" << i;
      EXPECT_EQ(*store->Stages(""), want_stages) << "app-" << i;
      EXPECT_LE(source.LoadedForTest(), 2u);
    }
  }
  // Least recently used goes first: after 1, 2, 1, 3, app-1's store is
  // still the one read before, and app-2's was dropped.
  auto one = source.Find("app-1");
  auto two = source.Find("app-2");
  EXPECT_EQ(source.Find("app-1"), one);
  ASSERT_NE(source.Find("app-3"), nullptr);
  EXPECT_EQ(source.Find("app-1"), one) << "the most recently used store was evicted";
  EXPECT_NE(source.Find("app-2"), two) << "the least recently used store was kept";
  // Every summary is the same as the stores give, loaded or not.
  EXPECT_EQ(source.Applications(), apps);
  EXPECT_EQ(source.Find("app-6"), nullptr);
  std::filesystem::remove_all(dir);
}

// A driver that ended cleanly after an earlier attempt was killed leaves
// both APP.jsonl and a stale APP.jsonl.inprogress: the finished one serves,
// in the list and in full.
TEST(HistorySourceTest, AFinishedLogWinsOverAnInProgressOneLeftBehind) {
  const std::string dir = testing::MakeTempDir("ember-history");
  {
    auto writer = events::EventLogWriter::Open(dir, "app-1");
    ASSERT_TRUE(writer.ok());
    for (const Event& e : WordCountEvents()) (*writer)->OnEvent(e);
    (*writer)->OnEvent(events::ApplicationEnd{2000, true, ""});
    ASSERT_TRUE((*writer)->Close().ok());
  }
  {
    std::ofstream out(dir + "/app-1.jsonl.inprogress");
    out << ToJson(events::ApplicationStart{1000, "app-1", "wc", "alice", "local[1]", "0.1.0", {}})
               .dump()
        << "\n";
  }
  HistorySource source(dir, AppStore::Limits{}, 1);
  const json apps = source.Applications();
  ASSERT_EQ(apps.size(), 1u) << apps.dump();
  EXPECT_EQ(apps[0]["attempts"][0]["completed"], true);
  auto store = source.Find("app-1");
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->completed());
  EXPECT_EQ(*store->Jobs(""), *Fold(WordCountEvents())->Jobs(""));
  std::filesystem::remove_all(dir);
}

// Room for one store: a log being written stays loaded beyond that and is
// read incrementally, and once it stops growing it is evicted like any
// other, its summary still that of a running application.
TEST(HistorySourceTest, ALogBeingWrittenStaysLoadedUntilItStopsGrowing) {
  const std::string dir = testing::MakeTempDir("ember-history");
  for (const char* id : {"app-1", "app-2"}) {
    auto writer = events::EventLogWriter::Open(dir, id);
    ASSERT_TRUE(writer.ok());
    (*writer)->OnEvent(events::ApplicationStart{1000, id, "x", "u", "local[1]", "0.1.0", {}});
    (*writer)->OnEvent(events::ApplicationEnd{2000, true, ""});
    ASSERT_TRUE((*writer)->Close().ok());
  }
  const std::string running_log = dir + "/app-3.jsonl.inprogress";
  const events::Millis started = events::NowMillis() - 5000;
  {
    std::ofstream out(running_log);
    out << ToJson(events::ApplicationStart{started, "app-3", "y", "u", "local[1]", "0.1.0", {}})
               .dump()
        << "\n"
        << ToJson(events::JobStart{started + 1, 0, "count", {}}).dump() << "\n";
  }
  const auto rescan = [] { std::this_thread::sleep_for(std::chrono::milliseconds(600)); };
  HistorySource source(dir, AppStore::Limits{}, 1);
  ASSERT_EQ(source.Applications().size(), 3u);
  auto running = source.Find("app-3");
  ASSERT_NE(running, nullptr);
  ASSERT_NE(source.Find("app-1"), nullptr);
  ASSERT_NE(source.Find("app-2"), nullptr);
  EXPECT_EQ(source.LoadedForTest(), 2u) << "the running log and the one asked for last";

  {
    std::ofstream out(running_log, std::ios::app);
    out << ToJson(events::JobEnd{started + 2, 0, true, ""}).dump() << "\n";
  }
  rescan();
  ASSERT_NE(source.Find("app-1"), nullptr);
  EXPECT_EQ(source.Find("app-3"), running) << "the growing log was read again from the start";
  EXPECT_EQ((*running->Jobs(""))[0]["status"], "SUCCEEDED");

  // Unchanged at the next scan: no longer pinned, so asking for another
  // application evicts it.
  rescan();
  ASSERT_NE(source.Find("app-1"), nullptr);
  EXPECT_EQ(source.LoadedForTest(), 1u);
  const json apps = source.Applications();
  ASSERT_EQ(apps.size(), 3u);
  EXPECT_EQ(apps[0]["id"], "app-3");
  EXPECT_EQ(apps[0]["attempts"][0]["completed"], false);
  EXPECT_GE(apps[0]["attempts"][0]["duration"].get<int64_t>(), 5000) << "a stale duration";
  auto again = source.Find("app-3");
  ASSERT_NE(again, nullptr);
  EXPECT_NE(again, running);
  EXPECT_EQ(*again->Jobs(""), *running->Jobs(""));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ember::ui
