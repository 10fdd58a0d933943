#include "runtime/events/events.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <stdexcept>

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
  // Spark's default redaction pattern, and credentials.
  for (const char* word :
       {"secret", "password", "token", "credential", "access.key", "accesskey"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

namespace {

// Numbers read back with their range checked: nlohmann converts -1 to
// 4294967295 and 1e30 to an undefined value without a word.
uint64_t UnsignedValue(const json& v, const char* key, uint64_t max) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    throw std::invalid_argument(std::string("\"") + key + "\" is not a non-negative integer");
  }
  const uint64_t n = v.get<uint64_t>();
  if (n > max) throw std::invalid_argument(std::string("\"") + key + "\" is out of range");
  return n;
}
uint64_t Unsigned(const json& j, const char* key, uint64_t max) {
  return UnsignedValue(j.at(key), key, max);
}
uint32_t U32(const json& j, const char* key) {
  return static_cast<uint32_t>(Unsigned(j, key, UINT32_MAX));
}
uint64_t U64(const json& j, const char* key) {
  return Unsigned(j, key, UINT64_MAX);
}
int64_t Time(const json& j) {
  const json& v = j.at("time");
  if (!v.is_number_integer()) throw std::invalid_argument("\"time\" is not an integer");
  return v.get<int64_t>();
}
double Seconds(const json& j, const char* key) {
  const json& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
    throw std::invalid_argument(std::string("\"") + key + "\" is not a non-negative number");
  }
  return v.get<double>();
}

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
  s.stage_id = U32(j, "stageId");
  s.name = j.at("name").get<std::string>();
  s.num_tasks = U32(j, "numTasks");
  for (const json& id : j.at("parentIds")) {
    s.parent_ids.push_back(static_cast<uint32_t>(UnsignedValue(id, "parentIds", UINT32_MAX)));
  }
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
  const Millis time = Time(j);
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
                         j.at("hostPort").get<std::string>(), U32(j, "cores")};
  }
  if (kind == "ExecutorRemoved") {
    return ExecutorRemoved{time, j.at("executorId").get<std::string>(),
                           j.at("reason").get<std::string>()};
  }
  if (kind == "JobStart") {
    JobStart e{time, U32(j, "jobId"), j.at("name").get<std::string>(), {}};
    for (const json& s : j.at("stages")) e.stages.push_back(StageInfoFrom(s));
    return e;
  }
  if (kind == "JobEnd") {
    return JobEnd{time, U32(j, "jobId"), j.at("succeeded").get<bool>(),
                  j.at("error").get<std::string>()};
  }
  if (kind == "StageSubmitted") {
    return StageSubmitted{time, U32(j, "stageId"), U32(j, "numTasks")};
  }
  if (kind == "StageCompleted") {
    return StageCompleted{time, U32(j, "stageId"), j.at("succeeded").get<bool>(),
                          j.at("error").get<std::string>()};
  }
  if (kind == "TaskStart") {
    return TaskStart{time,
                     U64(j, "taskId"),
                     U32(j, "stageId"),
                     U32(j, "index"),
                     U32(j, "attempt"),
                     j.at("executorId").get<std::string>()};
  }
  if (kind == "TaskEnd") {
    TaskEnd e;
    e.time = time;
    e.task_id = U64(j, "taskId");
    e.stage_id = U32(j, "stageId");
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
    m.run_seconds = Seconds(j, "runSeconds");
    m.records_in = U64(j, "recordsIn");
    m.records_out = U64(j, "recordsOut");
    m.input_bytes = U64(j, "inputBytes");
    m.output_bytes = U64(j, "outputBytes");
    m.shuffle_read_bytes = U64(j, "shuffleReadBytes");
    m.shuffle_write_bytes = U64(j, "shuffleWriteBytes");
    m.spilled_bytes = U64(j, "spilledBytes");
    for (const json& b : j.at("cached")) {
      e.cached.push_back(CachedBlock{U64(b, "cacheId"), U32(b, "partition"), U64(b, "bytes")});
    }
    return e;
  }
  if (kind == "CacheDropped") return CacheDropped{time, U64(j, "cacheId")};
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
