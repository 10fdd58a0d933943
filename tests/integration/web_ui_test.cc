// The driver's REST API against what a real local-cluster job did, the
// event log it writes replayed by a real ember-history with the same
// answers, and a driver killed mid-job leaving a readable log.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "engine_test_util.h"

namespace ember::testing {
namespace {

using nlohmann::json;

json GetJson(int port, const std::string& path) {
  auto answer = HttpGet(port, path);
  if (answer.status != 200) {
    return json{{"http_status", answer.status}, {"body", answer.body}};
  }
  return json::parse(answer.body, nullptr, false);
}

// Lines of words whose counts the test knows.
struct Input {
  std::string path;
  uint64_t bytes = 0;
  uint64_t lines = 0;
  std::set<std::string> words;
};

Input WriteInput(const std::string& dir, int lines) {
  Input in;
  in.path = dir + "/words.txt";
  std::string text;
  for (int i = 0; i < lines; ++i) {
    std::string a = "w", b = "v";
    a += std::to_string(i % 37);
    b += std::to_string((i * 7) % 23);
    text.append(a).append(" ").append(b).append(" common\n");
    in.words.insert(a);
    in.words.insert(b);
  }
  in.words.insert("common");
  WriteFileOrDie(in.path, text);
  in.bytes = text.size();
  in.lines = static_cast<uint64_t>(lines);
  return in;
}

class WebUiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("ember-webui");
    // Over 4 MiB: textFile(IN, 4) makes 4 splits of at least 1 MiB each.
    input_ = WriteInput(dir_, 320000);
    log_dir_ = dir_ + "/events";
    hold_ = dir_ + "/hold";
    port_ = PickFreePort();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Process> StartApp(int tasks, int sleep_ms) {
    return std::make_unique<Process>(std::vector<std::string>{
        Bin("ember-submit"), "--master", "local-cluster[2,1]", "--no-progress", "--ui-port",
        std::to_string(port_), "--conf", "ember.eventLog.dir=" + log_dir_, "--conf",
        "myapp.api.token=hunter2", EMBER_OPS_APP, "ui", input_.path, dir_ + "/out",
        std::to_string(tasks), std::to_string(sleep_ms), hold_});
  }
  // The application's id, once its UI answers.
  std::string WaitForApp() {
    std::string id;
    WaitUntil([&] {
      json apps = GetJson(port_, "/api/v1/applications");
      if (!apps.is_array() || apps.empty()) return false;
      id = apps[0]["id"].get<std::string>();
      return true;
    });
    return id;
  }

  // ember-history on the event log directory: its port once it answers, or
  // 0 (with the failure recorded).
  int StartHistory() {
    const int port = PickFreePort();
    history_ = std::make_unique<Process>(
        std::vector<std::string>{Bin("ember-history"), "--port", std::to_string(port), log_dir_});
    if (WaitUntil([&] { return HttpGet(port, "/api/v1/applications").status == 200; })) return port;
    ADD_FAILURE() << "ember-history did not answer: " << history_->Stderr();
    return 0;
  }

  std::unique_ptr<Process> history_;
  std::string dir_, log_dir_, hold_;
  Input input_;
  int port_ = 0;
};

TEST_F(WebUiTest, RestAnswersMatchTheJobAndTheHistoryServerRepeatsThem) {
  auto app = StartApp(6, 50);
  const std::string id = WaitForApp();
  ASSERT_FALSE(id.empty()) << app->Stderr();
  const std::string base = "/api/v1/applications/" + id;
  json jobs;
  ASSERT_TRUE(WaitUntil([&] {
    jobs = GetJson(port_, base + "/jobs");
    return jobs.is_array() && jobs.size() == 3 && jobs[0]["status"] == "SUCCEEDED";
  })) << jobs.dump()
      << app->Stderr();

  // Newest first: the save, the slow count, the word count.
  const json& count = jobs[2];
  EXPECT_EQ(count["name"], "collect");
  EXPECT_EQ(count["stageIds"].size(), 2u);
  EXPECT_EQ(count["numTasks"], 4 + 3);
  EXPECT_EQ(count["numCompletedTasks"], 7);
  EXPECT_EQ(count["numFailedTasks"], 0);
  EXPECT_EQ(count["numCompletedStages"], 2);
  EXPECT_EQ(jobs[1]["numTasks"], 6);
  EXPECT_EQ(jobs[0]["numTasks"], 2);

  const uint32_t map_id = count["stageIds"][0], reduce_id = count["stageIds"][1];
  json map = GetJson(port_, base + "/stages/" + std::to_string(map_id) + "/0");
  json reduce = GetJson(port_, base + "/stages/" + std::to_string(reduce_id) + "/0");
  EXPECT_EQ(map["status"], "COMPLETE");
  EXPECT_EQ(map["numCompleteTasks"], 4);
  EXPECT_EQ(map["inputBytes"], input_.bytes);
  EXPECT_EQ(map["inputRecords"], input_.lines);
  EXPECT_GT(map["shuffleWriteBytes"].get<uint64_t>(), 0u);
  // Read bytes count the fetched blocks' framing too.
  EXPECT_GE(reduce["shuffleReadBytes"].get<uint64_t>(), map["shuffleWriteBytes"].get<uint64_t>());
  EXPECT_EQ(map["shuffleWriteRecords"], reduce["shuffleReadRecords"]);
  EXPECT_EQ(reduce["outputRecords"], input_.words.size());
  EXPECT_EQ(reduce["parentIds"], json::array({map_id}));
  EXPECT_EQ(map["tasks"].size(), 4u);
  uint64_t task_input = 0;
  for (const auto& [tid, task] : map["tasks"].items()) {
    EXPECT_EQ(task["status"], "SUCCESS");
    task_input += task["taskMetrics"]["inputMetrics"]["bytesRead"].get<uint64_t>();
  }
  EXPECT_EQ(task_input, input_.bytes);

  const uint32_t slow_id = jobs[1]["stageIds"][0];
  json slow = GetJson(port_, base + "/stages/" + std::to_string(slow_id) + "/0");
  EXPECT_EQ(slow["numCompleteTasks"], 6);
  EXPECT_GE(slow["executorRunTime"].get<int64_t>(), 6 * 50);
  EXPECT_EQ(slow["taskSummary"]["numTasks"], 6);

  const uint32_t save_id = jobs[0]["stageIds"][0];
  json save = GetJson(port_, base + "/stages/" + std::to_string(save_id) + "/0");
  uint64_t written = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir_ + "/out")) {
    if (f.path().filename().string().rfind("part-", 0) == 0) written += f.file_size();
  }
  EXPECT_EQ(save["outputBytes"], written);
  EXPECT_EQ(save["outputBytes"], input_.bytes);
  EXPECT_EQ(save["outputRecords"], input_.lines);

  json executors = GetJson(port_, base + "/executors");
  ASSERT_EQ(executors.size(), 2u) << executors.dump();
  int completed = 0;
  for (const json& e : executors) {
    EXPECT_EQ(e["totalCores"], 1);
    EXPECT_EQ(e["isActive"], true);
    EXPECT_EQ(e["activeTasks"], 0);
    completed += e["completedTasks"].get<int>();
  }
  EXPECT_EQ(completed, 7 + 6 + 2);

  json env = GetJson(port_, base + "/environment");
  bool redacted = false;
  for (const json& kv : env["sparkProperties"]) {
    if (kv[0] == "myapp.api.token") redacted = kv[1] == "*********(redacted)";
    EXPECT_NE(kv[1], "hunter2");
  }
  EXPECT_TRUE(redacted) << env.dump();

  // What the live driver says, to compare with the history server.
  std::vector<std::string> paths = {"/jobs", "/stages", "/environment"};
  for (uint32_t s : {map_id, reduce_id, slow_id, save_id}) {
    paths.push_back("/stages/" + std::to_string(s));
    paths.push_back("/stages/" + std::to_string(s) + "/0/taskSummary?quantiles=0.1,0.9");
  }
  std::map<std::string, json> live;
  for (const std::string& p : paths) live[p] = GetJson(port_, base + p);

  WriteFileOrDie(hold_, "go");
  auto result = app->Wait();
  ASSERT_TRUE(result.Exited(0)) << result.Describe();
  const std::string log = log_dir_ + "/" + id + ".jsonl";
  ASSERT_TRUE(std::filesystem::exists(log));
  EXPECT_FALSE(std::filesystem::exists(log + ".inprogress"));

  const int history_port = StartHistory();
  ASSERT_GT(history_port, 0);
  json apps = GetJson(history_port, "/api/v1/applications");
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0]["id"], id);
  EXPECT_EQ(apps[0]["attempts"][0]["completed"], true);
  EXPECT_EQ(apps[0]["attempts"][0]["succeeded"], true);
  for (const auto& [p, want] : live) {
    EXPECT_EQ(GetJson(history_port, base + p), want) << p;
  }
  json dead = GetJson(history_port, base + "/allexecutors");
  ASSERT_EQ(dead.size(), 2u);
  for (const json& e : dead) EXPECT_EQ(e["isActive"], false);
  EXPECT_EQ(HttpGet(history_port, "/").status, 200);
}

TEST_F(WebUiTest, ADriverKilledMidJobLeavesALogTheHistoryServerReads) {
  auto app = StartApp(200, 100);
  const std::string id = WaitForApp();
  ASSERT_FALSE(id.empty()) << app->Stderr();
  const std::string log = log_dir_ + "/" + id + ".jsonl.inprogress";
  // Some of the slow job's tasks are logged.
  ASSERT_TRUE(WaitUntil([&] {
    const std::string text = ReadFileOrEmpty(log);
    return text.find("\"jobId\":1") != std::string::npos &&
           text.find("\"TaskEnd\"", text.find("\"jobId\":1")) != std::string::npos;
  })) << app->Stderr();
  app->Signal(SIGKILL);
  app->Wait();

  const int history_port = StartHistory();
  ASSERT_GT(history_port, 0);
  json apps = GetJson(history_port, "/api/v1/applications");
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0]["attempts"][0]["completed"], false);
  json jobs = GetJson(history_port, "/api/v1/applications/" + id + "/jobs");
  ASSERT_EQ(jobs.size(), 2u) << jobs.dump();
  EXPECT_EQ(jobs[0]["status"], "RUNNING");
  EXPECT_GT(jobs[0]["numCompletedTasks"].get<int>(), 0);
  EXPECT_EQ(jobs[1]["status"], "SUCCEEDED");
}

TEST(WebUiFlagsTest, BadUiFlagsAndEventLogDirsAreErrorsThatNameThem) {
  auto bad_port = Submit("local[1]", EMBER_OPS_APP, {"empty"}, {"--ui-port", "70000"});
  EXPECT_TRUE(bad_port.Exited(2)) << bad_port.Describe();
  EXPECT_NE(bad_port.err.find("--ui-port"), std::string::npos) << bad_port.err;

  const std::string dir = MakeTempDir("ember-webui-flags");
  WriteFileOrDie(dir + "/file", "x");
  auto bad_dir = Submit("local[1]", EMBER_OPS_APP, {"empty"},
                        {"--ui-port", "-1", "--conf", "ember.eventLog.dir=" + dir + "/file/logs"});
  EXPECT_TRUE(bad_dir.Exited(1)) << bad_dir.Describe();
  EXPECT_NE(bad_dir.err.find(dir + "/file/logs"), std::string::npos) << bad_dir.err;

  // A taken UI port is not an error: the next one is used.
  const int port = PickFreePort();
  Process holder({Bin("ember-history"), "--port", std::to_string(port), dir});
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(port, "/api/v1/applications").status == 200; }));
  auto moved = Submit("local[1]", EMBER_OPS_APP, {"empty"},
                      {"--ui-port", std::to_string(port), "--log-level", "info"});
  EXPECT_TRUE(moved.Exited(0)) << moved.Describe();
  const std::string said = "web UI at http://127.0.0.1:";
  const size_t at = moved.err.find(said);
  ASSERT_NE(at, std::string::npos) << moved.err;
  const int used = std::atoi(moved.err.c_str() + at + said.size());
  EXPECT_GT(used, port);
  EXPECT_LE(used, port + 16);

  auto history = RunProcess({Bin("ember-history"), dir + "/missing"});
  EXPECT_TRUE(history.Exited(2)) << history.Describe();
  EXPECT_NE(history.err.find("is not a directory"), std::string::npos) << history.err;
  for (const char* bad : {"0", "-3", "many"}) {
    auto limited = RunProcess({Bin("ember-history"), "--max-applications", bad, dir});
    EXPECT_TRUE(limited.Exited(2)) << bad << ": " << limited.Describe();
    EXPECT_NE(limited.err.find("--max-applications"), std::string::npos) << limited.err;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ember::testing
