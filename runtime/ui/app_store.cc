#include "runtime/ui/app_store.h"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace ember::ui {

using nlohmann::json;

std::string FormatTime(events::Millis millis) {
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[48];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof(out), "%.*s.%03dGMT", static_cast<int>(n), buf,
                static_cast<int>(millis % 1000));
  return out;
}

namespace {

const char* JobStatusName(int s) {
  static const char* const kNames[] = {"RUNNING", "SUCCEEDED", "FAILED"};
  return kNames[s];
}
const char* StageStatusName(int s) {
  static const char* const kNames[] = {"PENDING", "ACTIVE", "COMPLETE", "FAILED", "SKIPPED"};
  return kNames[s];
}
const char* TaskStatusName(int s) {
  static const char* const kNames[] = {"RUNNING", "SUCCESS", "FAILED", "KILLED"};
  return kNames[s];
}

void Add(events::TaskMetrics& sum, const events::TaskMetrics& m) {
  sum.run_seconds += m.run_seconds;
  sum.records_in += m.records_in;
  sum.records_out += m.records_out;
  sum.input_bytes += m.input_bytes;
  sum.output_bytes += m.output_bytes;
  sum.shuffle_read_bytes += m.shuffle_read_bytes;
  sum.shuffle_write_bytes += m.shuffle_write_bytes;
  sum.spilled_bytes += m.spilled_bytes;
}

// Marks partition `index` done; true when it was not before.
bool MarkDone(std::vector<bool>& done, uint32_t index) {
  if (index >= done.size()) done.resize(index + 1);
  if (done[index]) return false;
  done[index] = true;
  return true;
}

int64_t Ms(double seconds) {
  return static_cast<int64_t>(std::llround(seconds * 1000));
}

}  // namespace

AppStore::AppStore(Limits limits) : limits_(limits) {}

void AppStore::OnEvent(const events::Event& event) {
  std::lock_guard<std::mutex> lock(mu_);
  std::visit(
      [this](const auto& e) {
        last_updated_ = std::max(last_updated_, e.time);
        Apply(e);
      },
      event);
}

std::string AppStore::app_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return app_id_;
}

bool AppStore::completed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return completed_;
}

// -------------------------------------------------------------- events --

void AppStore::Apply(const events::ApplicationStart& e) {
  app_id_ = e.app_id;
  app_name_ = e.app_name;
  user_ = e.user;
  master_ = e.master;
  version_ = e.version;
  conf_ = e.conf;
  started_ = e.time;
}

void AppStore::Apply(const events::ApplicationEnd& e) {
  std::vector<uint64_t> left;
  for (const auto& [id, task] : running_) left.push_back(id);
  std::sort(left.begin(), left.end());
  for (uint64_t id : left) EndTask(id, TaskStatus::kKilled, "the application ended", {}, e.time);
  CloseOpenJobs(e.time, e.succeeded ? "the application ended" : e.error);
  for (auto& [id, executor] : executors_) {
    if (!executor.active) continue;
    executor.active = false;
    executor.removed = e.time;
    executor.reason = "the application ended";
    executor.cached.clear();
  }
  completed_ = true;
  succeeded_ = e.succeeded;
  app_error_ = e.error;
  ended_ = e.time;
}

void AppStore::Apply(const events::ExecutorAdded& e) {
  Executor& x = executors_[e.executor_id];
  x.id = e.executor_id;
  x.host_port = e.host_port;
  x.cores = e.cores;
  x.active = true;
  x.added = e.time;
  x.removed = 0;
  x.reason.clear();
}

void AppStore::Apply(const events::ExecutorRemoved& e) {
  auto it = executors_.find(e.executor_id);
  if (it == executors_.end()) return;
  it->second.active = false;
  it->second.removed = e.time;
  it->second.reason = e.reason;
  it->second.cached.clear();
}

void AppStore::Apply(const events::JobStart& e) {
  JobRecord& job = jobs_[e.job_id];
  job.id = e.job_id;
  job.name = e.name;
  job.submitted = e.time;
  job.dag = e.stages;
  for (const events::StageInfo& info : e.stages) {
    if (info.skipped) {
      job.skipped_tasks += info.num_tasks;
      ++job.skipped_stages;
      continue;
    }
    job.num_tasks += info.num_tasks;
    Stage* latest = LatestAttempt(info.stage_id);
    if (latest != nullptr &&
        (latest->status == StageStatus::kPending || latest->status == StageStatus::kActive)) {
      latest->job_ids.insert(e.job_id);
      job.stages.insert({latest->id, latest->attempt});
      continue;
    }
    const uint32_t attempt = NextAttempt(info.stage_id);
    Stage& s = stages_[{info.stage_id, attempt}];
    s.id = info.stage_id;
    s.attempt = attempt;
    s.name = info.name;
    s.num_tasks = info.num_tasks;
    s.parent_ids = info.parent_ids;
    s.reads_shuffle = info.reads_shuffle;
    s.writes_shuffle = info.writes_shuffle;
    s.job_ids.insert(e.job_id);
    latest_attempt_[info.stage_id] = attempt;
    job.stages.insert({info.stage_id, attempt});
  }
  current_job_ = e.job_id;
}

void AppStore::Apply(const events::JobEnd& e) {
  auto it = jobs_.find(e.job_id);
  if (it == jobs_.end()) return;
  JobRecord& job = it->second;
  // Its attempts still running hear nothing more that counts.
  std::vector<uint64_t> left;
  for (const auto& [id, task] : running_) {
    if (task.job_id == e.job_id) left.push_back(id);
  }
  std::sort(left.begin(), left.end());
  for (uint64_t id : left) EndTask(id, TaskStatus::kKilled, "its job ended", {}, e.time);
  for (const StageKey& key : job.stages) {
    auto s = stages_.find(key);
    if (s == stages_.end()) continue;
    Stage& stage = s->second;
    if (stage.status == StageStatus::kPending) {
      // Never ran: the job ended before its inputs were there.
      stage.status = StageStatus::kSkipped;
      ++job.skipped_stages;
      job.skipped_tasks += stage.num_tasks;
    } else if (stage.status == StageStatus::kActive) {
      // The scheduler closes its stages first; a log cut short may not.
      stage.status = StageStatus::kFailed;
      stage.error = e.succeeded ? "its job ended" : e.error;
      ++job.failed_stages;
    } else {
      continue;
    }
    stage.completed = e.time;
    StageFinished(key);
  }
  job.status = e.succeeded ? JobStatus::kSucceeded : JobStatus::kFailed;
  job.error = e.error;
  job.completed = e.time;
  job.done_indices = {};
  if (current_job_ == e.job_id) current_job_.reset();
  JobFinished(e.job_id);
}

void AppStore::Apply(const events::StageSubmitted& e) {
  Stage* latest = LatestAttempt(e.stage_id);
  Stage* s = latest;
  if (latest == nullptr || latest->status != StageStatus::kPending) {
    // A stage run again (its input was lost): a new attempt.
    const uint32_t attempt = NextAttempt(e.stage_id);
    Stage& fresh = stages_[{e.stage_id, attempt}];
    fresh.id = e.stage_id;
    fresh.attempt = attempt;
    if (latest != nullptr) {
      fresh.name = latest->name;
      fresh.parent_ids = latest->parent_ids;
      fresh.reads_shuffle = latest->reads_shuffle;
      fresh.writes_shuffle = latest->writes_shuffle;
    }
    latest_attempt_[e.stage_id] = attempt;
    s = &fresh;
  }
  s->status = StageStatus::kActive;
  s->submitted = e.time;
  s->num_tasks = e.num_tasks;
  if (current_job_) {
    s->job_ids.insert(*current_job_);
    auto job = jobs_.find(*current_job_);
    if (job != jobs_.end()) job->second.stages.insert({s->id, s->attempt});
  }
}

void AppStore::Apply(const events::StageCompleted& e) {
  Stage* s = LatestAttempt(e.stage_id);
  if (s == nullptr || s->status != StageStatus::kActive) return;
  s->status = e.succeeded ? StageStatus::kComplete : StageStatus::kFailed;
  s->completed = e.time;
  s->error = e.succeeded ? std::string() : e.error;
  if (current_job_) {
    auto job = jobs_.find(*current_job_);
    if (job != jobs_.end()) {
      ++(e.succeeded ? job->second.completed_stages : job->second.failed_stages);
    }
  }
  StageFinished({s->id, s->attempt});
}

void AppStore::Apply(const events::TaskStart& e) {
  Stage* s = LatestAttempt(e.stage_id);
  if (s == nullptr) return;
  Task& t = s->tasks[e.task_id];
  t.id = e.task_id;
  t.index = e.index;
  t.attempt = e.attempt;
  t.executor_id = e.executor_id;
  t.launch = e.time;
  ++s->active;
  if (s->first_launch == 0) s->first_launch = e.time;
  RunningTask& r = running_[e.task_id];
  r.stage = {s->id, s->attempt};
  r.index = e.index;
  r.executor_id = e.executor_id;
  r.job_id = current_job_.value_or(0);
  if (current_job_) {
    auto job = jobs_.find(*current_job_);
    if (job != jobs_.end()) ++job->second.active;
  }
  auto x = executors_.find(e.executor_id);
  if (x != executors_.end()) ++x->second.running;
}

void AppStore::Apply(const events::TaskEnd& e) {
  auto r = running_.find(e.task_id);
  if (r == running_.end()) return;
  const TaskStatus status = e.state == events::TaskEndState::kSuccess  ? TaskStatus::kSuccess
                            : e.state == events::TaskEndState::kFailed ? TaskStatus::kFailed
                                                                       : TaskStatus::kKilled;
  auto x = executors_.find(r->second.executor_id);
  if (x != executors_.end()) {
    for (const events::CachedBlock& b : e.cached)
      x->second.cached[{b.cache_id, b.partition}] = b.bytes;
  }
  EndTask(e.task_id, status, e.error, e.metrics, e.time);
}

void AppStore::Apply(const events::CacheDropped& e) {
  for (auto& [id, x] : executors_) {
    for (auto it = x.cached.lower_bound({e.cache_id, 0});
         it != x.cached.end() && it->first.first == e.cache_id;) {
      it = x.cached.erase(it);
    }
  }
}

void AppStore::EndTask(uint64_t task_id, TaskStatus status, const std::string& error,
                       const events::TaskMetrics& metrics, events::Millis time) {
  auto r = running_.find(task_id);
  if (r == running_.end()) return;
  const RunningTask running = r->second;
  running_.erase(r);
  auto count = [status](uint32_t& complete, uint32_t& failed, uint32_t& killed) {
    ++(status == TaskStatus::kSuccess ? complete : status == TaskStatus::kFailed ? failed : killed);
  };
  auto job = jobs_.find(running.job_id);
  if (job != jobs_.end() && job->second.active > 0) {
    --job->second.active;
    count(job->second.complete, job->second.failed, job->second.killed);
    if (status == TaskStatus::kSuccess && job->second.status == JobStatus::kRunning &&
        MarkDone(job->second.done_indices[running.stage.first], running.index)) {
      ++job->second.completed_indices;
    }
  }
  auto x = executors_.find(running.executor_id);
  if (x != executors_.end()) {
    Executor& ex = x->second;
    if (ex.running > 0) --ex.running;
    count(ex.complete, ex.failed, ex.killed);
    ex.task_seconds += metrics.run_seconds;
    ex.input_bytes += metrics.input_bytes;
    ex.shuffle_read += metrics.shuffle_read_bytes;
    ex.shuffle_write += metrics.shuffle_write_bytes;
    ex.spilled += metrics.spilled_bytes;
  }
  auto s = stages_.find(running.stage);
  if (s == stages_.end()) return;  // dropped by retention since
  Stage& stage = s->second;
  if (stage.active > 0) --stage.active;
  count(stage.complete, stage.failed, stage.killed);
  if (status == TaskStatus::kSuccess) {
    Add(stage.sums, metrics);
    if (stage.status == StageStatus::kActive && MarkDone(stage.done_indices, running.index)) {
      ++stage.completed_indices;
    }
  }
  auto t = stage.tasks.find(task_id);
  if (t == stage.tasks.end()) return;
  t->second.status = status;
  t->second.error = error;
  t->second.metrics = metrics;
  t->second.end = time;
  stage.finished.push_back(task_id);
  while (stage.finished.size() > limits_.retained_tasks) {
    stage.tasks.erase(stage.finished.front());
    stage.finished.pop_front();
    ++stage.dropped_tasks;
  }
}

void AppStore::StageFinished(const StageKey& key) {
  if (auto it = stages_.find(key); it != stages_.end()) it->second.done_indices = {};
  finished_stages_.push_back(key);
  // One pass at most: attempts whose tasks still run (and still end into
  // them) go to the back, and may leave the list longer than the limit.
  for (size_t n = finished_stages_.size();
       n > 0 && finished_stages_.size() > limits_.retained_stages; --n) {
    const StageKey old = finished_stages_.front();
    finished_stages_.pop_front();
    auto it = stages_.find(old);
    if (it == stages_.end()) continue;
    if (it->second.active > 0) {
      finished_stages_.push_back(old);
      continue;
    }
    stages_.erase(it);
    ++dropped_stages_;
  }
}

uint32_t AppStore::NextAttempt(uint32_t stage_id) const {
  auto a = latest_attempt_.find(stage_id);
  return a == latest_attempt_.end() ? 0 : a->second + 1;
}

void AppStore::CloseOpenJobs(events::Millis time, const std::string& why) {
  std::vector<uint32_t> open;
  for (const auto& [id, job] : jobs_) {
    if (job.status == JobStatus::kRunning) open.push_back(id);
  }
  for (uint32_t id : open) Apply(events::JobEnd{time, id, false, why});
}

void AppStore::JobFinished(uint32_t job_id) {
  finished_jobs_.push_back(job_id);
  while (finished_jobs_.size() > limits_.retained_jobs) {
    jobs_.erase(finished_jobs_.front());
    finished_jobs_.pop_front();
    ++dropped_jobs_;
  }
}

AppStore::Stage* AppStore::LatestAttempt(uint32_t stage_id) {
  auto a = latest_attempt_.find(stage_id);
  if (a == latest_attempt_.end()) return nullptr;
  auto s = stages_.find({stage_id, a->second});
  return s == stages_.end() ? nullptr : &s->second;
}

// ------------------------------------------------------------- answers --

json AppStore::Application() const {
  std::lock_guard<std::mutex> lock(mu_);
  json attempt{{"startTime", FormatTime(started_)},
               {"lastUpdated", FormatTime(last_updated_)},
               {"duration", (completed_ ? ended_ : events::NowMillis()) - started_},
               {"sparkUser", user_},
               {"completed", completed_},
               {"appSparkVersion", version_},
               {"startTimeEpoch", started_},
               {"lastUpdatedEpoch", last_updated_},
               {"droppedJobs", dropped_jobs_},
               {"droppedStages", dropped_stages_}};
  if (completed_) {
    attempt["endTime"] = FormatTime(ended_);
    attempt["endTimeEpoch"] = ended_;
    attempt["succeeded"] = succeeded_;
    if (!succeeded_) attempt["error"] = app_error_;
  }
  return json{{"id", app_id_}, {"name", app_name_}, {"attempts", json::array({attempt})}};
}

namespace {
std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

Result<json> AppStore::Jobs(const std::string& status) const {
  // Spark's API takes RUNNING as well as running.
  const std::string filter = Lower(status);
  std::optional<JobStatus> want;
  if (filter == "running") {
    want = JobStatus::kRunning;
  } else if (filter == "succeeded") {
    want = JobStatus::kSucceeded;
  } else if (filter == "failed") {
    want = JobStatus::kFailed;
  } else if (!filter.empty()) {
    return InvalidArgumentError("status \"" + filter +
                                "\" is not one of running, succeeded, failed");
  }
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::array();
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
    if (!want || it->second.status == *want) out.push_back(JobJson(it->second));
  }
  return out;
}

json AppStore::JobJson(const JobRecord& j) const {
  std::vector<uint32_t> stage_ids;
  for (const auto& info : j.dag) stage_ids.push_back(info.stage_id);
  uint32_t active_stages = 0;
  for (const StageKey& key : j.stages) {
    auto s = stages_.find(key);
    if (s != stages_.end() && s->second.status == StageStatus::kActive) ++active_stages;
  }
  json job{{"jobId", j.id},
           {"name", j.name},
           {"submissionTime", FormatTime(j.submitted)},
           {"stageIds", stage_ids},
           {"status", JobStatusName(static_cast<int>(j.status))},
           {"numTasks", j.num_tasks},
           {"numActiveTasks", j.active},
           {"numCompletedTasks", j.complete},
           {"numCompletedIndices", std::min(j.completed_indices, j.num_tasks)},
           {"numSkippedTasks", j.skipped_tasks},
           {"numFailedTasks", j.failed},
           {"numKilledTasks", j.killed},
           {"numActiveStages", active_stages},
           {"numCompletedStages", j.completed_stages},
           {"numSkippedStages", j.skipped_stages},
           {"numFailedStages", j.failed_stages}};
  if (j.status != JobStatus::kRunning) job["completionTime"] = FormatTime(j.completed);
  if (j.status == JobStatus::kFailed) job["failureReason"] = j.error;
  json dag = json::array();
  for (const auto& info : j.dag) {
    dag.push_back(json{{"stageId", info.stage_id},
                       {"name", info.name},
                       {"numTasks", info.num_tasks},
                       {"parentIds", info.parent_ids},
                       {"operations", info.operations},
                       {"skipped", info.skipped}});
  }
  job["dag"] = std::move(dag);
  return job;
}

Result<json> AppStore::Job(uint32_t job_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return NotFoundError("unknown job " + std::to_string(job_id));
  return JobJson(it->second);
}

json AppStore::TaskJson(const Stage& s, const Task& t) const {
  const events::TaskMetrics& m = t.metrics;
  json task{{"taskId", t.id},
            {"index", t.index},
            {"attempt", t.attempt},
            {"launchTime", FormatTime(t.launch)},
            {"executorId", t.executor_id},
            {"status", TaskStatusName(static_cast<int>(t.status))}};
  auto x = executors_.find(t.executor_id);
  task["host"] = x == executors_.end() ? "" : x->second.host_port;
  if (t.status != TaskStatus::kRunning) task["duration"] = t.end - t.launch;
  if (!t.error.empty()) task["errorMessage"] = t.error;
  // Whether records in and out are shuffle records is the stage's to say.
  const bool rs = s.reads_shuffle, ws = s.writes_shuffle;
  task["taskMetrics"] =
      json{{"executorRunTime", Ms(m.run_seconds)},
           {"diskBytesSpilled", m.spilled_bytes},
           {"memoryBytesSpilled", 0},
           {"inputMetrics", {{"bytesRead", m.input_bytes}, {"recordsRead", rs ? 0 : m.records_in}}},
           {"outputMetrics",
            {{"bytesWritten", m.output_bytes}, {"recordsWritten", ws ? 0 : m.records_out}}},
           {"shuffleReadMetrics",
            {{"remoteBytesRead", m.shuffle_read_bytes}, {"recordsRead", rs ? m.records_in : 0}}},
           {"shuffleWriteMetrics",
            {{"bytesWritten", m.shuffle_write_bytes}, {"recordsWritten", ws ? m.records_out : 0}}}};
  return task;
}

json AppStore::StageJson(const Stage& s, bool with_tasks) const {
  const events::TaskMetrics& m = s.sums;
  json stage{{"status", StageStatusName(static_cast<int>(s.status))},
             {"stageId", s.id},
             {"attemptId", s.attempt},
             {"name", s.name},
             {"numTasks", s.num_tasks},
             {"numActiveTasks", s.active},
             {"numCompleteTasks", s.complete},
             {"numCompletedIndices", std::min(s.completed_indices, s.num_tasks)},
             {"numFailedTasks", s.failed},
             {"numKilledTasks", s.killed},
             {"executorRunTime", Ms(m.run_seconds)},
             {"inputBytes", m.input_bytes},
             {"inputRecords", s.reads_shuffle ? 0 : m.records_in},
             {"outputBytes", m.output_bytes},
             {"outputRecords", s.writes_shuffle ? 0 : m.records_out},
             {"shuffleReadBytes", m.shuffle_read_bytes},
             {"shuffleReadRecords", s.reads_shuffle ? m.records_in : 0},
             {"shuffleWriteBytes", m.shuffle_write_bytes},
             {"shuffleWriteRecords", s.writes_shuffle ? m.records_out : 0},
             {"diskBytesSpilled", m.spilled_bytes},
             {"memoryBytesSpilled", 0},
             {"parentIds", s.parent_ids},
             {"jobIds", s.job_ids},
             {"droppedTasks", s.dropped_tasks}};
  if (s.submitted != 0) stage["submissionTime"] = FormatTime(s.submitted);
  if (s.first_launch != 0) stage["firstTaskLaunchedTime"] = FormatTime(s.first_launch);
  if (s.completed != 0) stage["completionTime"] = FormatTime(s.completed);
  if (s.status == StageStatus::kFailed) stage["failureReason"] = s.error;
  if (with_tasks) {
    json tasks = json::object();
    for (const auto& [id, t] : s.tasks) tasks[std::to_string(id)] = TaskJson(s, t);
    stage["tasks"] = std::move(tasks);
  }
  return stage;
}

Result<json> AppStore::Stages(const std::string& status) const {
  const std::string filter = Lower(status);
  std::optional<StageStatus> want;
  static const std::pair<const char*, StageStatus> kFilters[] = {
      {"pending", StageStatus::kPending},
      {"active", StageStatus::kActive},
      {"complete", StageStatus::kComplete},
      {"failed", StageStatus::kFailed},
      {"skipped", StageStatus::kSkipped}};
  for (const auto& [name, status] : kFilters) {
    if (filter == name) want = status;
  }
  if (!filter.empty() && !want) {
    return InvalidArgumentError("status \"" + filter +
                                "\" is not one of active, complete, pending, failed, skipped");
  }
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::array();
  for (auto it = stages_.rbegin(); it != stages_.rend(); ++it) {
    if (want && it->second.status != *want) continue;
    out.push_back(StageJson(it->second, false));
  }
  return out;
}

Result<const AppStore::Stage*> AppStore::FindStage(uint32_t stage_id, uint32_t attempt) const {
  auto s = stages_.find({stage_id, attempt});
  if (s == stages_.end()) {
    return NotFoundError("unknown stage " + std::to_string(stage_id) + " attempt " +
                         std::to_string(attempt));
  }
  return &s->second;
}

Result<json> AppStore::StageAttempts(uint32_t stage_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::array();
  for (auto it = stages_.lower_bound({stage_id, 0});
       it != stages_.end() && it->first.first == stage_id; ++it) {
    out.push_back(StageJson(it->second, true));
  }
  if (out.empty()) return NotFoundError("unknown stage " + std::to_string(stage_id));
  return out;
}

Result<json> AppStore::StageAttempt(uint32_t stage_id, uint32_t attempt) const {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(const Stage* s, FindStage(stage_id, attempt));
  json out = StageJson(*s, true);
  out["taskSummary"] = SummaryJson(*s, {0, 0.25, 0.5, 0.75, 1});
  return out;
}

json AppStore::SummaryJson(const Stage& s, const std::vector<double>& quantiles) const {
  std::vector<const Task*> done;
  for (const auto& [id, t] : s.tasks) {
    if (t.status == TaskStatus::kSuccess) done.push_back(&t);
  }
  auto metric = [&](auto get) {
    std::vector<double> values;
    values.reserve(done.size());
    for (const Task* t : done) values.push_back(static_cast<double>(get(*t)));
    std::sort(values.begin(), values.end());
    json out = json::array();
    for (double q : quantiles) {
      if (values.empty()) break;
      const size_t i = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
      out.push_back(values[i]);
    }
    return out;
  };
  const bool rs = s.reads_shuffle, ws = s.writes_shuffle;
  return json{
      {"quantiles", quantiles},
      {"numTasks", done.size()},
      {"duration", metric([](const Task& t) { return t.end - t.launch; })},
      {"executorRunTime", metric([](const Task& t) { return Ms(t.metrics.run_seconds); })},
      {"diskBytesSpilled", metric([](const Task& t) { return t.metrics.spilled_bytes; })},
      {"inputMetrics",
       {{"bytesRead", metric([](const Task& t) { return t.metrics.input_bytes; })},
        {"recordsRead", metric([rs](const Task& t) { return rs ? 0 : t.metrics.records_in; })}}},
      {"outputMetrics",
       {{"bytesWritten", metric([](const Task& t) { return t.metrics.output_bytes; })},
        {"recordsWritten",
         metric([ws](const Task& t) { return ws ? 0 : t.metrics.records_out; })}}},
      {"shuffleReadMetrics",
       {{"readBytes", metric([](const Task& t) { return t.metrics.shuffle_read_bytes; })},
        {"readRecords", metric([rs](const Task& t) { return rs ? t.metrics.records_in : 0; })}}},
      {"shuffleWriteMetrics",
       {{"writeBytes", metric([](const Task& t) { return t.metrics.shuffle_write_bytes; })},
        {"writeRecords", metric([ws](const Task& t) { return ws ? t.metrics.records_out : 0; })}}}};
}

Result<json> AppStore::TaskSummary(uint32_t stage_id, uint32_t attempt,
                                   const std::vector<double>& quantiles) const {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(const Stage* s, FindStage(stage_id, attempt));
  return SummaryJson(*s, quantiles);
}

Result<json> AppStore::TaskList(uint32_t stage_id, uint32_t attempt, size_t offset,
                                size_t length) const {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(const Stage* s, FindStage(stage_id, attempt));
  json out = json::array();
  auto it = s->tasks.begin();
  for (size_t i = 0; i < offset && it != s->tasks.end(); ++i) ++it;
  for (; it != s->tasks.end() && out.size() < length; ++it) out.push_back(TaskJson(*s, it->second));
  return out;
}

json AppStore::Executors(bool include_dead) const {
  std::lock_guard<std::mutex> lock(mu_);
  json out = json::array();
  for (const auto& [id, x] : executors_) {
    if (!include_dead && !x.active) continue;
    uint64_t memory = 0;
    for (const auto& [key, bytes] : x.cached) memory += bytes;
    json e{{"id", x.id},
           {"hostPort", x.host_port},
           {"isActive", x.active},
           {"totalCores", x.cores},
           {"maxTasks", x.cores},
           {"activeTasks", x.running},
           {"completedTasks", x.complete},
           {"failedTasks", x.failed},
           {"killedTasks", x.killed},
           {"totalTasks", x.running + x.complete + x.failed + x.killed},
           {"totalDuration", Ms(x.task_seconds)},
           {"totalInputBytes", x.input_bytes},
           {"totalShuffleRead", x.shuffle_read},
           {"totalShuffleWrite", x.shuffle_write},
           {"diskBytesSpilled", x.spilled},
           {"memoryUsed", memory},
           {"addTime", FormatTime(x.added)}};
    if (!x.active) {
      e["removeTime"] = FormatTime(x.removed);
      e["removeReason"] = x.reason;
    }
    out.push_back(std::move(e));
  }
  return out;
}

json AppStore::Environment() const {
  std::lock_guard<std::mutex> lock(mu_);
  json props = json::array();
  for (const auto& [k, v] : conf_) props.push_back(json::array({k, v}));
  return json{{"runtime", {{"emberVersion", version_}, {"master", master_}, {"user", user_}}},
              {"sparkProperties", std::move(props)}};
}

}  // namespace ember::ui
