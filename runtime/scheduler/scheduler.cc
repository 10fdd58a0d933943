#include "runtime/scheduler/scheduler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "common/log.h"
#include "runtime/metrics/metrics.h"

namespace ember::scheduler {

namespace {
// How often the job loop wakes without news, to notice timeouts.
constexpr std::chrono::milliseconds kTurn{100};
constexpr size_t kNoStage = static_cast<size_t>(-1);
}  // namespace

Scheduler::Scheduler(Options options)
    : options_(std::move(options)), last_executor_seen_(std::chrono::steady_clock::now()) {}

// ------------------------------------------------------------ executors --

void Scheduler::AddExecutor(const std::string& id, const std::string& shuffle_address,
                            uint32_t cores, std::shared_ptr<ExecutorBackend> backend) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A new executor under a known id (a restarted pod) replaces the old
    // one, whose tasks and outputs are gone with it.
    if (executors_.count(id) > 0) {
      DropExecutorLocked(id, UnavailableError("replaced by a new executor with the same id"));
    }
    ExecutorState& e = executors_[id];
    e.address = shuffle_address;
    e.cores = std::max<uint32_t>(1, cores);
    e.slots = e.cores * (1 + prefetch_);
    e.backend = std::move(backend);
    Index(id, e);
    if (options_.metrics) options_.metrics->executors_registered->Set(executors_.size());
    if (options_.listener) {
      Emit(events::ExecutorAdded{events::NowMillis(), id, shuffle_address, e.cores});
    }
  }
  EMBER_LOG(kInfo) << "executor " << id << " registered with " << cores << " cores at "
                   << shuffle_address;
  cv_.notify_all();
}

void Scheduler::RemoveExecutor(const std::string& id, const Status& why,
                               const ExecutorBackend* backend) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto e = executors_.find(id);
    if (e == executors_.end()) return;
    if (backend != nullptr && e->second.backend.get() != backend) return;
    DropExecutorLocked(id, why);
  }
  cv_.notify_all();
}

void Scheduler::DropExecutorLocked(const std::string& id, const Status& why) {
  auto it = executors_.find(id);
  if (it == executors_.end()) return;
  ExecutorState& e = it->second;
  Unindex(id, e);
  for (uint64_t task_id : e.tasks) {
    auto t = running_.find(task_id);
    if (t == running_.end()) continue;
    // Not the task's fault: it simply runs again elsewhere. Should the
    // executor come back, the attempt is told to stop.
    e.backend->Kill(task_id);
    if (options_.listener) {
      proto::TaskStatus lost;
      lost.set_state(proto::TaskStatus::FAILED);
      lost.set_error("executor " + id + " lost: " + why.message());
      EmitTaskEnd(task_id, t->second.stage_id, t->second.stage != kNoStage, lost);
    }
    if (job_ != nullptr && t->second.stage != kNoStage) {
      Stage& stage = job_->stages[t->second.stage];
      --stage.running;
      if (t->second.may_commit) committers_.erase(t->second.slot);
      MarkReady(stage, t->second.slot);
    }
    running_.erase(t);
  }
  executors_.erase(it);
  if (auto held = cached_of_.find(id); held != cached_of_.end()) {
    for (const auto& key : held->second) {
      auto c = cached_.find(key);
      if (c == cached_.end()) continue;
      c->second.erase(id);
      if (c->second.empty()) cached_.erase(c);
    }
    cached_of_.erase(held);
  }
  std::unordered_set<uint32_t> lost;
  if (auto held = outputs_of_.find(id); held != outputs_of_.end()) {
    for (const auto& [shuffle_id, map] : held->second) lost.insert(shuffle_id);
  }
  ForgetOutputsOf(id);
  // Running readers of what was lost would only wait for a peer that is
  // gone (a frozen one answers nothing until the fetch's inactivity
  // timeout): they stop now and run again once the outputs are back.
  if (job_ != nullptr && !lost.empty()) {
    for (size_t i = 0; i < job_->stages.size(); ++i) {
      Stage& stage = job_->stages[i];
      if (stage.running == 0) continue;
      const bool reads_lost = std::any_of(stage.inputs.begin(), stage.inputs.end(),
                                          [&](uint32_t s) { return lost.count(s) > 0; });
      if (!reads_lost) continue;
      ++stage.attempt;
      EmitStageEnd(stage,
                   UnavailableError("executor " + id + " holding its shuffle input was lost"));
      KillStage(*job_, i);
    }
  }
  if (options_.metrics) {
    options_.metrics->executors_registered->Set(executors_.size());
    options_.metrics->executors_lost_total->Increment();
  }
  Emit(events::ExecutorRemoved{events::NowMillis(), id, why.message()});
  EMBER_LOG(kWarning) << "executor " << id << " lost: " << why.message();
}

void Scheduler::Decommission(const std::string& id, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto e = executors_.find(id);
    if (e == executors_.end()) return;
    Unindex(id, e->second);
    e->second.draining = true;
  }
  EMBER_LOG(kInfo) << "executor " << id << " is shutting down (" << reason
                   << "); no more tasks go there";
  cv_.notify_all();
}

// Idle cores first, spread over executors; queue slots count only among
// executors with no idle core.
void Scheduler::Unindex(const std::string& id, const ExecutorState& e) {
  by_free_.erase({e.idle(), e.idle() > 0 ? 0 : e.free(), id});
}

void Scheduler::Index(const std::string& id, const ExecutorState& e) {
  if (e.free() > 0) by_free_.emplace(e.idle(), e.idle() > 0 ? 0 : e.free(), id);
}

Scheduler::ExecutorState* Scheduler::PickExecutor(std::string* id,
                                                  const std::vector<std::string>& preferred) {
  for (const std::string& p : preferred) {
    auto it = executors_.find(p);
    if (it != executors_.end() && it->second.free() > 0) {
      *id = p;
      return &it->second;
    }
  }
  if (by_free_.empty()) return nullptr;
  *id = std::get<2>(*by_free_.begin());
  return &executors_.at(*id);
}

void Scheduler::TakeCore(const std::string& id, ExecutorState& e, uint64_t task_id) {
  Unindex(id, e);
  ++e.running;
  e.tasks.insert(task_id);
  Index(id, e);
}

void Scheduler::FreeCore(const std::string& id, uint64_t task_id) {
  auto it = executors_.find(id);
  if (it == executors_.end()) return;
  ExecutorState& e = it->second;
  if (e.tasks.erase(task_id) == 0) return;
  Unindex(id, e);
  if (e.running > 0) --e.running;
  Index(id, e);
}

void Scheduler::Abort(const Status& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    abort_ = why;
  }
  cv_.notify_all();
}

void Scheduler::OnTaskStatus(const std::string& executor_id, proto::TaskStatus status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbox_.emplace_back(executor_id, std::move(status));
  }
  cv_.notify_all();
}

Status Scheduler::WaitForExecutors(size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (cv_.wait_for(lock, timeout, [&] { return executors_.size() >= count; })) return Status::Ok();
  return DeadlineExceededError("only " + std::to_string(executors_.size()) + " of " +
                               std::to_string(count) + " executors registered within " +
                               std::to_string(timeout.count() / 1000) + " s");
}

size_t Scheduler::num_executors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return executors_.size();
}

uint32_t Scheduler::total_cores() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t cores = 0;
  for (const auto& [id, e] : executors_) {
    if (!e.draining) cores += e.cores;
  }
  return cores;
}

void Scheduler::ObserveDuration(double seconds) {
  constexpr double kWeight = 0.05;
  mean_task_seconds_ =
      mean_task_seconds_ == 0 ? seconds : (1 - kWeight) * mean_task_seconds_ + kWeight * seconds;
  const double target = std::chrono::duration<double>(options_.queued_work_per_core).count();
  // Long tasks get no queue at all: a task queued behind a running one
  // would wait while another core goes idle, and a retry would wait behind
  // it. Only tasks much shorter than a launch round trip's worth of work
  // are queued.
  const double wanted = mean_task_seconds_ > 0 ? std::floor(target / mean_task_seconds_) : 0;
  const uint32_t depth =
      static_cast<uint32_t>(std::clamp(wanted, 0.0, double(options_.max_prefetch_per_core)));
  if (depth == prefetch_) return;
  prefetch_ = depth;
  by_free_.clear();
  for (auto& [id, e] : executors_) {
    e.slots = e.cores * (1 + prefetch_);
    Index(id, e);
  }
}

// -------------------------------------------------------------- outputs --

void Scheduler::OutputLost(uint32_t shuffle_id, uint32_t map) {
  ShuffleState& s = shuffles_.at(shuffle_id);
  if (!s.outputs[map]) return;
  s.outputs[map].reset();
  --s.available;
  s.locations.reset();
  if (job_ == nullptr) return;
  auto stage = job_->stage_of_shuffle.find(shuffle_id);
  if (stage == job_->stage_of_shuffle.end()) return;
  Stage& st = job_->stages[stage->second];
  // A map stage computes every partition: slot == partition.
  if (st.state[map] == PartState::kDone) {
    --st.done;
    MarkReady(st, map);
  }
}

void Scheduler::ForgetOutputsOf(const std::string& executor_id) {
  auto held = outputs_of_.find(executor_id);
  if (held == outputs_of_.end()) return;
  ++epoch_;
  for (const auto& [shuffle_id, map] : held->second) {
    auto s = shuffles_.find(shuffle_id);
    if (s == shuffles_.end() || map >= s->second.outputs.size()) continue;
    const auto& output = s->second.outputs[map];
    // The list may name outputs recomputed elsewhere since.
    if (output && output->executor_id == executor_id) OutputLost(shuffle_id, map);
  }
  outputs_of_.erase(held);
}

void Scheduler::ForgetShuffle(uint32_t shuffle_id) {
  std::lock_guard<std::mutex> lock(mu_);
  shuffles_.erase(shuffle_id);
}

void Scheduler::ForgetCache(uint64_t cache_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = cached_.lower_bound({cache_id, 0});
       it != cached_.end() && it->first.first == cache_id;) {
    it = cached_.erase(it);
  }
  for (auto& [executor, keys] : cached_of_) {
    keys.erase(std::remove_if(keys.begin(), keys.end(),
                              [&](const auto& key) { return key.first == cache_id; }),
               keys.end());
  }
  Emit(events::CacheDropped{events::NowMillis(), cache_id});
}

std::vector<std::string> Scheduler::CacheHolders(uint64_t cache_id, uint32_t partition) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cached_.find({cache_id, partition});
  if (it == cached_.end()) return {};
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

std::vector<std::string> Scheduler::PreferredFor(const Stage& stage, uint32_t slot) const {
  std::vector<std::string> holders;
  // A persist node whose partitions line up with the stage's (the common
  // case: a narrow chain above it) holds the task's partition under the
  // same index; elsewhere the preference is only a guess, never a fault.
  const uint32_t partition = stage.partitions[slot];
  for (uint64_t cache_id : stage.cache_ids) {
    auto it = cached_.find({cache_id, partition});
    if (it != cached_.end()) holders.insert(holders.end(), it->second.begin(), it->second.end());
  }
  return holders;
}

bool Scheduler::InputsComplete(const Stage& stage) const {
  for (uint32_t s : stage.inputs) {
    if (!shuffles_.at(s).complete()) return false;
  }
  return true;
}

const proto::ShuffleLocations& Scheduler::Locations(uint32_t shuffle_id) {
  ShuffleState& s = shuffles_.at(shuffle_id);
  if (!s.locations) {
    std::vector<MapOutput> outputs;
    outputs.reserve(s.outputs.size());
    for (const auto& o : s.outputs) outputs.push_back(*o);
    s.locations = DescribeShuffle(shuffle_id, outputs);
  }
  return *s.locations;
}

// ------------------------------------------------------------- launching --

void Scheduler::MarkReady(Stage& stage, uint32_t slot, Queue where) {
  stage.state[slot] = PartState::kWaiting;
  if (!stage.queued[slot]) {
    stage.queued[slot] = true;
    // A partition that runs again (failed, lost, handed back) goes first,
    // as in Spark: a task that fails every time then fails its job in
    // seconds instead of after every other partition has run.
    if (where == Queue::kFront) {
      stage.ready.push_front(slot);
    } else {
      stage.ready.push_back(slot);
    }
  }
}

bool Scheduler::WaitForLocality(Stage& stage, uint32_t slot) {
  if (stage.cache_ids.empty()) return false;
  const std::vector<std::string> holders = PreferredFor(stage, slot);
  bool worth_waiting = false;
  for (const std::string& h : holders) {
    auto it = executors_.find(h);
    if (it == executors_.end() || it->second.draining || it->second.unreachable) continue;
    if (it->second.free() > 0) return false;  // LaunchOne picks it
    worth_waiting = true;
  }
  if (!worth_waiting) return false;
  const auto now = std::chrono::steady_clock::now();
  auto [since, first] = stage.waiting_since.try_emplace(slot, now);
  return now - since->second < options_.locality_wait;
}

void Scheduler::LaunchReady(Job& job) {
  for (Stage& stage : job.stages) {
    if (stage.ready.empty() || !InputsComplete(stage)) continue;
    std::vector<uint32_t> deferred;
    bool full = false;
    while (!stage.ready.empty()) {
      if (by_free_.empty()) {
        full = true;
        break;
      }
      const uint32_t slot = stage.ready.front();
      stage.ready.pop_front();
      stage.queued[slot] = false;
      if (stage.state[slot] != PartState::kWaiting) continue;  // done meanwhile
      if (WaitForLocality(stage, slot)) {
        deferred.push_back(slot);
        continue;
      }
      stage.waiting_since.erase(slot);
      if (!LaunchOne(job, stage, slot)) {
        full = true;
        break;
      }
    }
    // Their turn comes again at the next event or turn of the loop.
    for (uint32_t slot : deferred) {
      if (!stage.queued[slot]) {
        stage.queued[slot] = true;
        stage.ready.push_back(slot);
      }
    }
    if (full) return;
  }
}

bool Scheduler::LaunchOne(Job& job, Stage& stage, uint32_t slot) {
  const size_t stage_index = static_cast<size_t>(&stage - job.stages.data());
  if (!stage.shape) {
    proto::TaskDescription shape = DescribeStage(stage.plan);
    shape.set_stage_id(stage.id);
    if (stage.plan.output) {
      proto::ShuffleMapSink* sink = shape.mutable_shuffle_map();
      sink->set_shuffle_id(stage.plan.output->shuffle_id);
      sink->set_num_reducers(stage.plan.output->num_reducers);
      *sink->mutable_write() = ToProto(stage.plan.output->write);
      sink->set_capture(stage.plan.output->capture);
    } else {
      proto::ResultSink* sink = shape.mutable_result();
      *sink->mutable_run() = ToProto(job.sink.run);
      sink->set_capture(job.sink.capture);
    }
    stage.shape = std::move(shape);
  }
  proto::TaskDescription task = *stage.shape;
  AddPartition(stage.plan, stage.partitions[slot], &task);
  for (uint32_t s : stage.inputs) *task.add_shuffles() = Locations(s);
  task.set_stage_attempt(stage.attempt);
  task.set_attempt(stage.failures[slot]);
  while (true) {
    std::string id;
    ExecutorState* e = PickExecutor(&id, PreferredFor(stage, slot));
    if (e == nullptr) {
      // No core free after all: back to the front of the line.
      stage.ready.push_front(slot);
      stage.queued[slot] = true;
      return false;
    }
    const uint64_t task_id = next_task_id_++;
    task.set_task_id(task_id);
    TakeCore(id, *e, task_id);
    running_[task_id] = RunningTask{stage_index, slot, stage.id, stage.attempt, id, false};
    stage.state[slot] = PartState::kRunning;
    ++stage.running;
    if (e->backend->Launch(task)) {
      if (options_.listener) {
        const auto now = events::NowMillis();
        if (!stage.open) {
          stage.open = true;
          Emit(events::StageSubmitted{now, stage.id,
                                      static_cast<uint32_t>(stage.partitions.size()) - stage.done});
        }
        Emit(events::TaskStart{now, task_id, stage.id, stage.partitions[slot],
                               stage.launches[slot]++, id});
      }
      return true;
    }
    // The executor went away between registration and now: try the next
    // one at once, and send nothing more to this one until it is removed.
    running_.erase(task_id);
    --stage.running;
    stage.state[slot] = PartState::kWaiting;
    FreeCore(id, task_id);
    Unindex(id, *e);
    e->unreachable = true;
    EMBER_LOG(kWarning) << "launching a task on executor " << id
                        << " failed; trying another executor";
  }
}

// -------------------------------------------------------------- killing --

void Scheduler::KillAttempt(uint64_t task_id) {
  auto it = running_.find(task_id);
  if (it == running_.end() || it->second.stage == kNoStage) return;
  RunningTask& task = it->second;
  if (job_ != nullptr) {
    Stage& stage = job_->stages[task.stage];
    --stage.running;
    if (task.may_commit) committers_.erase(task.slot);
    // The attempt no longer counts; the partition runs again (if the job
    // still wants it) while the attempt winds down and frees its core.
    if (stage.state[task.slot] == PartState::kRunning) MarkReady(stage, task.slot);
  }
  task.stage = kNoStage;
  auto e = executors_.find(task.executor_id);
  if (e != executors_.end()) e->second.backend->Kill(task_id);
}

void Scheduler::KillStage(Job& job, size_t stage) {
  std::vector<uint64_t> ids;
  for (const auto& [task_id, task] : running_) {
    if (task.stage == stage) ids.push_back(task_id);
  }
  for (uint64_t id : ids) KillAttempt(id);
  (void)job;
}

void Scheduler::KillJob(Job& job) {
  std::vector<uint64_t> ids;
  for (const auto& [task_id, task] : running_) {
    if (task.stage != kNoStage) ids.push_back(task_id);
  }
  for (uint64_t id : ids) KillAttempt(id);
  (void)job;
}

bool Scheduler::CanCommit(const std::string& executor_id, uint64_t task_id, std::string* reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (job_ == nullptr || !job_->failure.ok()) {
    *reason = "the job has failed";
    return false;
  }
  auto it = running_.find(task_id);
  if (it == running_.end() || it->second.executor_id != executor_id ||
      it->second.stage == kNoStage) {
    *reason = "this attempt no longer counts";
    return false;
  }
  RunningTask& task = it->second;
  if (task.stage != job_->stages.size() - 1) {
    *reason = "only the result stage commits output";
    return false;
  }
  if (job_->stages[task.stage].state[task.slot] == PartState::kDone) {
    *reason = "the partition is committed already";
    return false;
  }
  auto [committer, inserted] = committers_.emplace(task.slot, task_id);
  if (!inserted && committer->second != task_id) {
    *reason = "attempt " + std::to_string(committer->second) + " commits this partition";
    return false;
  }
  task.may_commit = true;
  return true;
}

// --------------------------------------------------------------- events --

void Scheduler::HandleStatus(Job& job, uint64_t task_id, const RunningTask& task,
                             proto::TaskStatus& status) {
  Stage& stage = job.stages[task.stage];
  const uint32_t slot = task.slot;
  const uint32_t partition = stage.partitions[slot];
  if (task.may_commit && status.state() != proto::TaskStatus::SUCCEEDED) committers_.erase(slot);
  switch (status.state()) {
    case proto::TaskStatus::SUCCEEDED: {
      // What it kept is there whether or not this success counts.
      if (executors_.count(task.executor_id) > 0) {
        for (const proto::CachedBlock& block : status.cached_blocks()) {
          const auto key = std::make_pair(block.cache_id(), block.partition());
          if (cached_[key].insert(task.executor_id).second) {
            cached_of_[task.executor_id].push_back(key);
          }
        }
      }
      if (stage.state[slot] == PartState::kDone) return;
      if (stage.plan.output) {
        ShuffleState& s = shuffles_.at(stage.plan.output->shuffle_id);
        auto e = executors_.find(task.executor_id);
        if (e == executors_.end()) {  // its output is already gone
          MarkReady(stage, slot);
          return;
        }
        if (!s.outputs[partition]) {
          s.outputs[partition] = MapOutput{task.executor_id, e->second.address, epoch_};
          ++s.available;
          s.locations.reset();
          outputs_of_[task.executor_id].emplace_back(stage.plan.output->shuffle_id, partition);
          if (options_.on_counted_success) options_.on_counted_success(status);
        }
      } else {
        job.result_bytes += status.result().size();
        if (options_.max_result_bytes > 0 && job.result_bytes > options_.max_result_bytes) {
          job.failure = ResourceExhaustedError(
              "the results of this job are more than ember.driver.maxResultSize (" +
              std::to_string(options_.max_result_bytes) +
              " bytes); collect less, raise the limit, or write large results with saveAsTextFile");
        }
        job.results.emplace_back(partition, std::move(*status.mutable_result()));
        committers_.erase(slot);
        if (options_.on_counted_success) options_.on_counted_success(status);
      }
      stage.state[slot] = PartState::kDone;
      ++stage.done;
      if (stage.done == stage.partitions.size()) EmitStageEnd(stage, Status::Ok());
      (void)task_id;
      return;
    }
    case proto::TaskStatus::FETCH_FAILED: {
      MarkReady(stage, slot);
      auto s = shuffles_.find(status.failed_shuffle_id());
      if (s == shuffles_.end() || status.failed_map_id() >= s->second.outputs.size()) return;
      const auto& failed = s->second.outputs[status.failed_map_id()];
      // A task launched before an output was lost may report the loss after
      // the output was recomputed elsewhere: the news is stale.
      if (!failed || failed->executor_id != status.failed_executor_id() ||
          failed->epoch != status.failed_epoch()) {
        return;
      }
      EMBER_LOG(kWarning) << "fetch failed in stage " << stage.id << " (" << stage.plan.name
                          << ") partition " << partition << ": " << status.error();
      // Like Spark, a fetch failure condemns every output of the executor
      // that served it, and counts once per loss: the other tasks that trip
      // over the same dead executor find its outputs already gone.
      ForgetOutputsOf(status.failed_executor_id());
      if (++stage.fetch_failures >= options_.max_fetch_failures) {
        job.failure =
            AbortedError("stage " + std::to_string(stage.id) + " (" + stage.plan.name +
                         ") lost its shuffle input " + std::to_string(stage.fetch_failures) +
                         " times; most recent: " + status.error());
        return;
      }
      // The stage runs again once its inputs are back; the attempts of the
      // old run would only trip over the same loss.
      ++stage.attempt;
      EmitStageEnd(stage, AbortedError("fetch failed: " + status.error()));
      KillStage(job, task.stage);
      return;
    }
    case proto::TaskStatus::KILLED:
      // Handed back by an executor that is shutting down: it simply runs
      // again elsewhere.
      EMBER_LOG(kInfo) << "task " << partition << " in stage " << stage.id
                       << " was handed back by executor " << task.executor_id << ": "
                       << status.error();
      MarkReady(stage, slot);
      return;
    default: {
      const uint32_t failures = ++stage.failures[slot];
      EMBER_LOG(kWarning) << "task " << partition << " (attempt " << failures - 1 << ") in stage "
                          << stage.id << " (" << stage.plan.name << ") failed on executor "
                          << task.executor_id << ": " << status.error();
      if (failures >= options_.max_task_failures) {
        job.failure = AbortedError("task " + std::to_string(partition) + " in stage " +
                                   std::to_string(stage.id) + " (" + stage.plan.name + ") failed " +
                                   std::to_string(failures) + (failures == 1 ? " time" : " times") +
                                   "; most recent failure on executor " + task.executor_id + ": " +
                                   status.error());
        return;
      }
      MarkReady(stage, slot);
      return;
    }
  }
}

void Scheduler::EmitStageEnd(Stage& stage, const Status& why) {
  if (!stage.open) return;
  stage.open = false;
  Emit(events::StageCompleted{events::NowMillis(), stage.id, why.ok(), why.message()});
}

void Scheduler::EmitTaskEnd(uint64_t task_id, uint32_t stage_id, bool counts,
                            const proto::TaskStatus& status) {
  if (options_.listener == nullptr) return;
  events::TaskEnd end;
  end.time = events::NowMillis();
  end.task_id = task_id;
  end.stage_id = stage_id;
  switch (status.state()) {
    case proto::TaskStatus::SUCCEEDED:
      end.state = events::TaskEndState::kSuccess;
      break;
    case proto::TaskStatus::KILLED:
      end.state = events::TaskEndState::kKilled;
      break;
    default:
      // An attempt told to stop ends however it ends; it was killed.
      end.state = counts ? events::TaskEndState::kFailed : events::TaskEndState::kKilled;
      break;
  }
  if (status.state() == proto::TaskStatus::FETCH_FAILED) {
    end.error = "fetch failed: " + status.error();
  } else {
    end.error = status.error();
  }
  events::TaskMetrics& m = end.metrics;
  // From the wire: a NaN would not survive the event log's JSON.
  const double run = status.duration_seconds();
  m.run_seconds = std::isfinite(run) && run > 0 ? run : 0;
  m.records_in = status.records_in();
  m.records_out = status.records_out();
  m.input_bytes = status.input_bytes();
  m.output_bytes = status.output_bytes();
  m.shuffle_read_bytes = status.shuffle_bytes_read();
  m.shuffle_write_bytes = status.shuffle_bytes_written();
  m.spilled_bytes = status.spilled_bytes();
  for (const proto::CachedBlock& b : status.cached_blocks()) {
    end.cached.push_back(events::CachedBlock{b.cache_id(), b.partition(), b.bytes()});
  }
  Emit(std::move(end));
}

bool Scheduler::JobDone(const Job& job) const {
  const Stage& result = job.stages.back();
  return result.done == result.partitions.size();
}

Status Scheduler::RunJob(const std::shared_ptr<const internal::Node>& top,
                         const internal::ResultSpec& sink, const std::vector<uint32_t>& partitions,
                         const std::function<Status(uint32_t, std::string&&)>& on_result,
                         const std::function<void(uint32_t)>& on_start) {
  for (uint32_t p : partitions) {
    if (p >= top->num_partitions) {
      return InvalidArgumentError("job asks for partition " + std::to_string(p) + " of " +
                                  std::to_string(top->num_partitions));
    }
  }
  std::lock_guard<std::mutex> one_job(job_mu_);
  std::unique_lock<std::mutex> lock(mu_);
  Job job;
  job.sink = sink;
  for (StagePlan& plan : PlanJob(top, sink.name)) {
    Stage stage;
    const uint32_t n = plan.num_partitions();
    if (plan.output) {
      const uint32_t shuffle_id = plan.output->shuffle_id;
      auto [it, created] = shuffles_.try_emplace(shuffle_id);
      if (created) {
        it->second.stage_id = next_stage_id_++;
        it->second.outputs.resize(n);
      }
      stage.id = it->second.stage_id;
      stage.partitions.resize(n);
      for (uint32_t p = 0; p < n; ++p) stage.partitions[p] = p;
      job.stage_of_shuffle[shuffle_id] = job.stages.size();
    } else {
      stage.id = next_stage_id_++;
      if (partitions.empty()) {
        stage.partitions.resize(n);
        for (uint32_t p = 0; p < n; ++p) stage.partitions[p] = p;
      } else {
        stage.partitions = partitions;
      }
    }
    for (const auto& dep : plan.inputs) stage.inputs.push_back(dep->shuffle_id);
    for (const auto& node : plan.nodes) {
      if (node->cache_id != 0 && node->num_partitions == n)
        stage.cache_ids.push_back(node->cache_id);
    }
    stage.plan = std::move(plan);
    const size_t slots = stage.partitions.size();
    stage.state.assign(slots, PartState::kWaiting);
    stage.failures.assign(slots, 0);
    stage.launches.assign(slots, 0);
    stage.queued.assign(slots, false);
    for (uint32_t slot = 0; slot < slots; ++slot) {
      const bool have = stage.plan.output &&
                        shuffles_.at(stage.plan.output->shuffle_id).outputs[slot].has_value();
      if (have) {
        stage.state[slot] = PartState::kDone;
        ++stage.done;
      } else {
        MarkReady(stage, slot, Queue::kBack);
      }
    }
    job.stages.push_back(std::move(stage));
  }
  for (size_t i = 0; i < job.stages.size(); ++i) {
    for (uint32_t s : job.stages[i].inputs)
      job.stages[job.stage_of_shuffle.at(s)].readers.push_back(i);
  }
  committers_.clear();
  job_ = &job;
  const uint32_t job_id = next_job_id_++;
  if (on_start) on_start(job_id);
  // Whatever way this frame is left, the scheduler must not keep pointing at
  // the job, and attempts still running belong to no job any more.
  struct JobScope {
    Scheduler* self;
    std::unique_lock<std::mutex>& lock;
    Job& job;
    uint32_t job_id;
    bool ended = false;  // the listener heard JobEnd
    ~JobScope() {
      if (!lock.owns_lock()) lock.lock();  // an exception from on_result
      if (!ended) {
        try {
          const Status why = AbortedError("the job was abandoned: its result handler threw");
          for (Stage& stage : job.stages) self->EmitStageEnd(stage, why);
          self->Emit(events::JobEnd{events::NowMillis(), job_id, false, why.message()});
        } catch (const std::exception&) {
          // Out of memory while reporting; the UI shows the job unfinished.
        }
      }
      for (auto& [id, task] : self->running_) task.stage = kNoStage;
      self->committers_.clear();
      self->job_ = nullptr;
    }
  };
  JobScope scope{this, lock, job, job_id};
  if (options_.listener) {
    events::JobStart start{events::NowMillis(), job_id, sink.name, {}};
    for (const Stage& stage : job.stages) {
      events::StageInfo info;
      info.stage_id = stage.id;
      info.name = stage.plan.name;
      // What this job has to run: a map stage whose output is partly there
      // runs only its missing partitions.
      info.num_tasks = static_cast<uint32_t>(stage.partitions.size()) - stage.done;
      for (uint32_t s : stage.inputs)
        info.parent_ids.push_back(job.stages[job.stage_of_shuffle.at(s)].id);
      for (const auto& node : stage.plan.nodes) info.operations.push_back(node->name);
      info.reads_shuffle = !stage.inputs.empty();
      info.writes_shuffle = stage.plan.output != nullptr;
      info.skipped = info.writes_shuffle && info.num_tasks == 0;
      start.stages.push_back(std::move(info));
    }
    Emit(std::move(start));
  }
  if (options_.metrics) options_.metrics->active_jobs->Increment();
  if (!executors_.empty()) last_executor_seen_ = std::chrono::steady_clock::now();

  // Takes the statuses that arrived; false when the job failed meanwhile.
  auto drain_inbox = [&] {
    while (!inbox_.empty()) {
      auto [executor_id, status] = std::move(inbox_.front());
      inbox_.pop_front();
      auto it = running_.find(status.task_id());
      // An attempt already given up (its executor lost), or a status about an
      // attempt another executor runs: nothing it says counts.
      if (it == running_.end() || it->second.executor_id != executor_id) continue;
      RunningTask task = it->second;
      running_.erase(it);
      EmitTaskEnd(status.task_id(), task.stage_id, task.stage != kNoStage, status);
      FreeCore(executor_id, status.task_id());
      if (status.duration_seconds() > 0) ObserveDuration(status.duration_seconds());
      if (task.stage == kNoStage) continue;  // killed, or left over from an earlier job
      --job.stages[task.stage].running;
      HandleStatus(job, status.task_id(), task, status);
    }
  };

  for (;;) {
    drain_inbox();
    if (!job.results.empty()) {
      auto results = std::move(job.results);
      job.results.clear();
      lock.unlock();
      Status st;
      for (auto& [p, bytes] : results) {
        if (st.ok()) st = on_result(p, std::move(bytes));
      }
      lock.lock();
      if (!st.ok() && job.failure.ok()) job.failure = st;
    }
    if (job.failure.ok() && !abort_.ok()) job.failure = abort_;
    if (!job.failure.ok()) break;
    if (JobDone(job)) break;
    LaunchReady(job);
    const auto now = std::chrono::steady_clock::now();
    if (!executors_.empty()) {
      last_executor_seen_ = now;
    } else if (now - last_executor_seen_ > options_.no_executor_timeout) {
      job.failure =
          UnavailableError("no executors registered for " +
                           std::to_string(options_.no_executor_timeout.count() / 1000) + " s");
      break;
    }
    if (options_.metrics) {
      uint32_t active = 0;
      for (const Stage& s : job.stages) active += s.running > 0 ? 1 : 0;
      options_.metrics->active_stages->Set(active);
    }
    cv_.wait_for(lock, kTurn, [this] { return !inbox_.empty() || !abort_.ok(); });
  }

  if (!job.failure.ok()) {
    // Stop every attempt of the failed job and wait for them to say so (or
    // for their executors to go), so that none keeps a core or writes
    // output once the caller hears of the failure.
    std::vector<uint64_t> killed;
    for (const auto& [task_id, task] : running_) {
      if (task.stage != kNoStage) killed.push_back(task_id);
    }
    KillJob(job);
    const auto deadline = std::chrono::steady_clock::now() + options_.kill_grace;
    auto stopped = [&] {
      return std::none_of(killed.begin(), killed.end(),
                          [&](uint64_t id) { return running_.count(id) > 0; });
    };
    while (!stopped() && std::chrono::steady_clock::now() < deadline) {
      cv_.wait_until(lock, deadline, [&] { return !inbox_.empty() || stopped(); });
      drain_inbox();
    }
  } else {
    // Leftover attempts (a partition finished by another attempt) are
    // told to stop.
    KillJob(job);
  }
  if (options_.listener) {
    const Status why = job.failure.ok() ? AbortedError("its job ended") : job.failure;
    for (Stage& stage : job.stages) EmitStageEnd(stage, why);
    Emit(events::JobEnd{events::NowMillis(), job_id, job.failure.ok(), job.failure.message()});
  }
  scope.ended = true;
  if (options_.metrics) {
    options_.metrics->active_jobs->Decrement();
    options_.metrics->active_stages->Set(0);
    (job.failure.ok() ? options_.metrics->jobs_succeeded_total
                      : options_.metrics->jobs_failed_total)
        ->Increment();
  }
  return job.failure;
}

std::vector<StageProgress> Scheduler::Progress() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<StageProgress> out;
  if (job_ == nullptr) return out;
  for (const Stage& stage : job_->stages) {
    StageProgress p;
    p.stage_id = stage.id;
    p.name = stage.plan.name;
    p.total = static_cast<uint32_t>(stage.partitions.size());
    p.done = stage.done;
    p.running = stage.running;
    if (p.done < p.total && (p.running > 0 || p.done > 0)) out.push_back(p);
  }
  return out;
}

}  // namespace ember::scheduler
