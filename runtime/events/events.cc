#include "runtime/events/events.h"

#include <algorithm>
#include <cctype>
#include <chrono>

namespace ember::events {

using nlohmann::json;

Millis NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* TaskEndStateName(TaskEndState state) {
  switch (state) {
    case TaskEndState::kSuccess:
      return "SUCCESS";
    case TaskEndState::kFailed:
      return "FAILED";
    case TaskEndState::kKilled:
      return "KILLED";
  }
  return "UNKNOWN";
}

bool IsSecretKey(const std::string& key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* word : {"secret", "password", "token", "credential"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

namespace {

json StageInfoJson(const StageInfo& s) {
  return json{{"stageId", s.stage_id},
              {"name", s.name},
              {"numTasks", s.num_tasks},
              {"parentIds", s.parent_ids},
              {"operations", s.operations},
              {"readsShuffle", s.reads_shuffle},
              {"writesShuffle", s.writes_shuffle},
              {"skipped", s.skipped}};
}

StageInfo StageInfoFrom(const json& j) {
  StageInfo s;
  s.stage_id = j.at("stageId").get<uint32_t>();
  s.name = j.at("name").get<std::string>();
  s.num_tasks = j.at("numTasks").get<uint32_t>();
  s.parent_ids = j.at("parentIds").get<std::vector<uint32_t>>();
  s.operations = j.at("operations").get<std::vector<std::string>>();
  s.reads_shuffle = j.at("readsShuffle").get<bool>();
  s.writes_shuffle = j.at("writesShuffle").get<bool>();
  s.skipped = j.at("skipped").get<bool>();
  return s;
}

struct ToJsonVisitor {
  json operator()(const ApplicationStart& e) const {
    json conf = json::array();
    for (const auto& [k, v] : e.conf) conf.push_back(json::array({k, v}));
    return json{{"event", "ApplicationStart"}, {"time", e.time},         {"appId", e.app_id},
                {"appName", e.app_name},       {"user", e.user},         {"master", e.master},
                {"emberVersion", e.version},   {"conf", std::move(conf)}};
  }
  json operator()(const ApplicationEnd& e) const {
    return json{{"event", "ApplicationEnd"},
                {"time", e.time},
                {"succeeded", e.succeeded},
                {"error", e.error}};
  }
  json operator()(const ExecutorAdded& e) const {
    return json{{"event", "ExecutorAdded"},
                {"time", e.time},
                {"executorId", e.executor_id},
                {"hostPort", e.host_port},
                {"cores", e.cores}};
  }
  json operator()(const ExecutorRemoved& e) const {
    return json{{"event", "ExecutorRemoved"},
                {"time", e.time},
                {"executorId", e.executor_id},
                {"reason", e.reason}};
  }
  json operator()(const JobStart& e) const {
    json stages = json::array();
    for (const StageInfo& s : e.stages) stages.push_back(StageInfoJson(s));
    return json{{"event", "JobStart"},
                {"time", e.time},
                {"jobId", e.job_id},
                {"name", e.name},
                {"stages", std::move(stages)}};
  }
  json operator()(const JobEnd& e) const {
    return json{{"event", "JobEnd"},
                {"time", e.time},
                {"jobId", e.job_id},
                {"succeeded", e.succeeded},
                {"error", e.error}};
  }
  json operator()(const StageSubmitted& e) const {
    return json{{"event", "StageSubmitted"},
                {"time", e.time},
                {"stageId", e.stage_id},
                {"numTasks", e.num_tasks}};
  }
  json operator()(const StageCompleted& e) const {
    return json{{"event", "StageCompleted"},
                {"time", e.time},
                {"stageId", e.stage_id},
                {"succeeded", e.succeeded},
                {"error", e.error}};
  }
  json operator()(const TaskStart& e) const {
    return json{{"event", "TaskStart"},       {"time", e.time},   {"taskId", e.task_id},
                {"stageId", e.stage_id},      {"index", e.index}, {"attempt", e.attempt},
                {"executorId", e.executor_id}};
  }
  json operator()(const TaskEnd& e) const {
    const TaskMetrics& m = e.metrics;
    json cached = json::array();
    for (const CachedBlock& b : e.cached) {
      cached.push_back(
          json{{"cacheId", b.cache_id}, {"partition", b.partition}, {"bytes", b.bytes}});
    }
    return json{{"event", "TaskEnd"},
                {"time", e.time},
                {"taskId", e.task_id},
                {"stageId", e.stage_id},
                {"status", TaskEndStateName(e.state)},
                {"error", e.error},
                {"runSeconds", m.run_seconds},
                {"recordsIn", m.records_in},
                {"recordsOut", m.records_out},
                {"inputBytes", m.input_bytes},
                {"outputBytes", m.output_bytes},
                {"shuffleReadBytes", m.shuffle_read_bytes},
                {"shuffleWriteBytes", m.shuffle_write_bytes},
                {"spilledBytes", m.spilled_bytes},
                {"cached", std::move(cached)}};
  }
  json operator()(const CacheDropped& e) const {
    return json{{"event", "CacheDropped"}, {"time", e.time}, {"cacheId", e.cache_id}};
  }
};

Event FromJsonOrThrow(const json& j) {
  const std::string kind = j.at("event").get<std::string>();
  const Millis time = j.at("time").get<Millis>();
  if (kind == "ApplicationStart") {
    ApplicationStart e{time,
                       j.at("appId").get<std::string>(),
                       j.at("appName").get<std::string>(),
                       j.at("user").get<std::string>(),
                       j.at("master").get<std::string>(),
                       j.at("emberVersion").get<std::string>(),
                       {}};
    for (const json& kv : j.at("conf")) {
      e.conf.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
    }
    return e;
  }
  if (kind == "ApplicationEnd") {
    return ApplicationEnd{time, j.at("succeeded").get<bool>(), j.at("error").get<std::string>()};
  }
  if (kind == "ExecutorAdded") {
    return ExecutorAdded{time, j.at("executorId").get<std::string>(),
                         j.at("hostPort").get<std::string>(), j.at("cores").get<uint32_t>()};
  }
  if (kind == "ExecutorRemoved") {
    return ExecutorRemoved{time, j.at("executorId").get<std::string>(),
                           j.at("reason").get<std::string>()};
  }
  if (kind == "JobStart") {
    JobStart e{time, j.at("jobId").get<uint32_t>(), j.at("name").get<std::string>(), {}};
    for (const json& s : j.at("stages")) e.stages.push_back(StageInfoFrom(s));
    return e;
  }
  if (kind == "JobEnd") {
    return JobEnd{time, j.at("jobId").get<uint32_t>(), j.at("succeeded").get<bool>(),
                  j.at("error").get<std::string>()};
  }
  if (kind == "StageSubmitted") {
    return StageSubmitted{time, j.at("stageId").get<uint32_t>(), j.at("numTasks").get<uint32_t>()};
  }
  if (kind == "StageCompleted") {
    return StageCompleted{time, j.at("stageId").get<uint32_t>(), j.at("succeeded").get<bool>(),
                          j.at("error").get<std::string>()};
  }
  if (kind == "TaskStart") {
    return TaskStart{time,
                     j.at("taskId").get<uint64_t>(),
                     j.at("stageId").get<uint32_t>(),
                     j.at("index").get<uint32_t>(),
                     j.at("attempt").get<uint32_t>(),
                     j.at("executorId").get<std::string>()};
  }
  if (kind == "TaskEnd") {
    TaskEnd e;
    e.time = time;
    e.task_id = j.at("taskId").get<uint64_t>();
    e.stage_id = j.at("stageId").get<uint32_t>();
    const std::string status = j.at("status").get<std::string>();
    if (status == "SUCCESS") {
      e.state = TaskEndState::kSuccess;
    } else if (status == "FAILED") {
      e.state = TaskEndState::kFailed;
    } else if (status == "KILLED") {
      e.state = TaskEndState::kKilled;
    } else {
      throw std::invalid_argument("TaskEnd status \"" + status +
                                  "\" is not SUCCESS, FAILED or KILLED");
    }
    e.error = j.at("error").get<std::string>();
    TaskMetrics& m = e.metrics;
    m.run_seconds = j.at("runSeconds").get<double>();
    m.records_in = j.at("recordsIn").get<uint64_t>();
    m.records_out = j.at("recordsOut").get<uint64_t>();
    m.input_bytes = j.at("inputBytes").get<uint64_t>();
    m.output_bytes = j.at("outputBytes").get<uint64_t>();
    m.shuffle_read_bytes = j.at("shuffleReadBytes").get<uint64_t>();
    m.shuffle_write_bytes = j.at("shuffleWriteBytes").get<uint64_t>();
    m.spilled_bytes = j.at("spilledBytes").get<uint64_t>();
    for (const json& b : j.at("cached")) {
      e.cached.push_back(CachedBlock{b.at("cacheId").get<uint64_t>(),
                                     b.at("partition").get<uint32_t>(),
                                     b.at("bytes").get<uint64_t>()});
    }
    return e;
  }
  if (kind == "CacheDropped") return CacheDropped{time, j.at("cacheId").get<uint64_t>()};
  throw std::invalid_argument("unknown event \"" + kind + "\"");
}

}  // namespace

json ToJson(const Event& event) {
  return std::visit(ToJsonVisitor{}, event);
}

Result<Event> FromJson(const json& j) {
  if (!j.is_object())
    return InvalidArgumentError("an event is a JSON object, not " + std::string(j.type_name()));
  try {
    return FromJsonOrThrow(j);
  } catch (const std::exception& e) {
    // nlohmann names the missing key or the wrong type.
    return InvalidArgumentError(std::string("not an event: ") + e.what());
  }
}

}  // namespace ember::events
