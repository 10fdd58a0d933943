#include "runtime/scheduler/scheduler.h"

#include <algorithm>
#include <optional>
#include <set>

#include "common/log.h"
#include "runtime/metrics/metrics.h"

namespace ember::scheduler {

namespace {
// How often the job loop wakes without news, to notice timeouts.
constexpr std::chrono::milliseconds kTurn{100};
constexpr size_t kNoStage = static_cast<size_t>(-1);
}  // namespace

bool Scheduler::ShuffleState::complete() const {
  return std::all_of(outputs.begin(), outputs.end(), [](const auto& o) { return o.has_value(); });
}

Scheduler::Scheduler(Options options)
    : options_(std::move(options)), last_executor_seen_(std::chrono::steady_clock::now()) {}

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
    e.running = 0;
    e.backend = std::move(backend);
    if (options_.metrics) options_.metrics->executors_registered->Set(executors_.size());
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
  executors_.erase(id);
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->second.executor_id != id) {
      ++it;
      continue;
    }
    // Not the task's fault: it simply runs again elsewhere.
    if (job_ != nullptr && it->second.stage_index != kNoStage) {
      job_->in_flight.erase({it->second.stage_index, it->second.partition});
    }
    it = running_.erase(it);
  }
  ForgetOutputsOf(id);
  if (options_.metrics) {
    options_.metrics->executors_registered->Set(executors_.size());
    options_.metrics->executors_lost_total->Increment();
  }
  EMBER_LOG(kWarning) << "executor " << id << " lost: " << why.message();
}

void Scheduler::Abort(const Status& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    abort_ = why;
  }
  cv_.notify_all();
}

void Scheduler::Decommission(const std::string& id, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto e = executors_.find(id);
    if (e == executors_.end()) return;
    e->second.draining = true;
  }
  EMBER_LOG(kInfo) << "executor " << id << " is shutting down (" << reason
                   << "); no more tasks go there";
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

std::map<uint32_t, std::vector<MapOutput>> Scheduler::CompleteOutputs(
    const StagePlan& plan) const {
  std::map<uint32_t, std::vector<MapOutput>> out;
  for (const auto& dep : plan.inputs) {
    const ShuffleState& state = shuffles_.at(dep->shuffle_id);
    std::vector<MapOutput>& maps = out[dep->shuffle_id];
    maps.reserve(state.outputs.size());
    for (const auto& o : state.outputs) maps.push_back(*o);
  }
  return out;
}

void Scheduler::ForgetOutputsOf(const std::string& executor_id) {
  for (auto& [shuffle_id, state] : shuffles_) {
    for (auto& output : state.outputs) {
      if (output && output->executor_id == executor_id) output.reset();
    }
  }
}

bool Scheduler::InputsComplete(const StagePlan& plan) const {
  return std::all_of(plan.inputs.begin(), plan.inputs.end(), [&](const auto& dep) {
    return shuffles_.at(dep->shuffle_id).complete();
  });
}

bool Scheduler::NeedsRun(const Job& job, size_t stage_index, uint32_t partition) const {
  const Stage& stage = job.stages[stage_index];
  if (stage.plan.output) {
    return !shuffles_.at(stage.plan.output->shuffle_id).outputs[partition].has_value();
  }
  return !job.result_done[job.result_slot.at(partition)];
}

void Scheduler::Schedule(Job& job) {
  uint32_t active = 0;
  for (size_t si = 0; si < job.stages.size(); ++si) {
    const Stage& stage = job.stages[si];
    if (!InputsComplete(stage.plan)) continue;
    bool incomplete = false;
    for (uint32_t p : stage.partitions) {
      if (!NeedsRun(job, si, p)) continue;
      incomplete = true;
      if (job.in_flight.insert({si, p}).second) job.pending.emplace_back(si, p);
    }
    if (incomplete) ++active;
  }
  if (options_.metrics) options_.metrics->active_stages->Set(active);
}

void Scheduler::LaunchPending(Job& job) {
  while (!job.pending.empty()) {
    // The executor with the most free cores, so that work spreads evenly.
    ExecutorState* target = nullptr;
    std::string target_id;
    for (auto& [id, e] : executors_) {
      if (e.draining || e.running >= e.cores) continue;
      if (target == nullptr || e.cores - e.running > target->cores - target->running) {
        target = &e;
        target_id = id;
      }
    }
    if (target == nullptr) return;
    auto [si, partition] = job.pending.front();
    job.pending.pop_front();
    Stage& stage = job.stages[si];
    // An executor lost since Schedule() queued this task may have taken map
    // outputs it reads with it; launching now would hand it a dead address.
    // Schedule() queues it again once the lost outputs are recomputed.
    if (!InputsComplete(stage.plan)) {
      job.in_flight.erase({si, partition});
      continue;
    }
    proto::TaskDescription task = DescribeTask(stage.plan, partition, CompleteOutputs(stage.plan));
    const uint64_t task_id = next_task_id_++;
    task.set_task_id(task_id);
    task.set_stage_id(stage.id);
    task.set_attempt(stage.failures[partition]);
    if (stage.plan.output) {
      proto::ShuffleMapSink* sink = task.mutable_shuffle_map();
      sink->set_shuffle_id(stage.plan.output->shuffle_id);
      sink->set_num_reducers(stage.plan.output->num_reducers);
      *sink->mutable_write() = ToProto(stage.plan.output->write);
      sink->set_capture(stage.plan.output->capture);
    } else {
      proto::ResultSink* sink = task.mutable_result();
      *sink->mutable_run() = ToProto(job.sink.run);
      sink->set_capture(job.sink.capture);
    }
    running_[task_id] = RunningTask{si, partition, target_id};
    ++target->running;
    if (!target->backend->Launch(task)) {
      // The executor went away between registration and now; the removal
      // path reschedules the task.
      running_.erase(task_id);
      --target->running;
      job.in_flight.erase({si, partition});
      return;
    }
  }
}

void Scheduler::HandleStatus(Job& job, const RunningTask& task, proto::TaskStatus& status) {
  job.in_flight.erase({task.stage_index, task.partition});
  Stage& stage = job.stages[task.stage_index];
  switch (status.state()) {
    case proto::TaskStatus::SUCCEEDED: {
      if (stage.plan.output) {
        auto it = executors_.find(task.executor_id);
        if (it == executors_.end()) return;  // its output is already gone
        shuffles_.at(stage.plan.output->shuffle_id).outputs[task.partition] =
            MapOutput{task.executor_id, it->second.address};
      } else {
        const size_t slot = job.result_slot.at(task.partition);
        if (!job.result_done[slot]) {
          job.result_done[slot] = true;
          job.results.emplace_back(task.partition, std::move(*status.mutable_result()));
        }
      }
      return;
    }
    case proto::TaskStatus::FETCH_FAILED: {
      EMBER_LOG(kWarning) << "fetch failed in stage " << stage.id << " (" << stage.plan.name
                          << ") partition " << task.partition << ": " << status.error();
      // Like Spark, a fetch failure condemns every output of the executor
      // that served it, and counts once per loss: the other tasks that trip
      // over the same dead executor find its outputs already gone.
      auto it = shuffles_.find(status.failed_shuffle_id());
      if (it == shuffles_.end() || status.failed_map_id() >= it->second.outputs.size()) return;
      const auto& failed = it->second.outputs[status.failed_map_id()];
      // A task launched before an executor was lost may report the loss after
      // the output was recomputed elsewhere; that news is stale.
      if (!failed || failed->executor_id != status.failed_executor_id()) return;
      const std::string lost_executor = failed->executor_id;
      ForgetOutputsOf(lost_executor);
      if (++stage.fetch_failures >= options_.max_fetch_failures) {
        job.failure = AbortedError("stage " + std::to_string(stage.id) + " (" + stage.plan.name +
                                   ") lost its shuffle input " +
                                   std::to_string(stage.fetch_failures) +
                                   " times; most recent: " + status.error());
      }
      return;
    }
    case proto::TaskStatus::KILLED:
      // Handed back by an executor that is shutting down: it simply runs
      // again elsewhere.
      EMBER_LOG(kInfo) << "task " << task.partition << " in stage " << stage.id
                       << " was handed back by executor " << task.executor_id << ": "
                       << status.error();
      return;
    default: {
      const uint32_t failures = ++stage.failures[task.partition];
      EMBER_LOG(kWarning) << "task " << task.partition << " (attempt " << failures - 1
                          << ") in stage " << stage.id << " (" << stage.plan.name
                          << ") failed on executor " << task.executor_id << ": "
                          << status.error();
      if (failures >= options_.max_task_failures) {
        job.failure = AbortedError(
            "task " + std::to_string(task.partition) + " in stage " + std::to_string(stage.id) +
            " (" + stage.plan.name + ") failed " + std::to_string(failures) +
            (failures == 1 ? " time" : " times") + "; most recent failure on executor " +
            task.executor_id + ": " + status.error());
      }
      return;
    }
  }
}

Status Scheduler::RunJob(const std::shared_ptr<const internal::Node>& top,
                         const internal::ResultSpec& sink, const std::vector<uint32_t>& partitions,
                         const std::function<Status(uint32_t, std::string&&)>& on_result) {
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
      auto [it, created] = shuffles_.try_emplace(plan.output->shuffle_id);
      if (created) {
        it->second.stage_id = next_stage_id_++;
        it->second.outputs.resize(n);
      }
      stage.id = it->second.stage_id;
      for (uint32_t p = 0; p < n; ++p) stage.partitions.push_back(p);
    } else {
      stage.id = next_stage_id_++;
      if (partitions.empty()) {
        for (uint32_t p = 0; p < n; ++p) stage.partitions.push_back(p);
      } else {
        stage.partitions = partitions;
      }
      for (size_t i = 0; i < stage.partitions.size(); ++i) job.result_slot[stage.partitions[i]] = i;
      job.result_done.assign(stage.partitions.size(), false);
    }
    stage.plan = std::move(plan);
    job.stages.push_back(std::move(stage));
  }
  job_ = &job;
  // Whatever way this frame is left, the scheduler must not keep pointing at
  // the job, and tasks still running belong to no job any more.
  struct JobScope {
    Scheduler* self;
    std::unique_lock<std::mutex>& lock;
    ~JobScope() {
      if (!lock.owns_lock()) lock.lock();  // an exception from on_result
      for (auto& [id, task] : self->running_) task.stage_index = kNoStage;
      self->job_ = nullptr;
    }
  };
  JobScope scope{this, lock};
  if (options_.metrics) options_.metrics->active_jobs->Increment();
  if (!executors_.empty()) last_executor_seen_ = std::chrono::steady_clock::now();

  for (;;) {
    while (!inbox_.empty()) {
      auto [executor_id, status] = std::move(inbox_.front());
      inbox_.pop_front();
      auto it = running_.find(status.task_id());
      if (it == running_.end()) continue;  // from a lost executor: already rescheduled
      RunningTask task = it->second;
      running_.erase(it);
      auto e = executors_.find(task.executor_id);
      if (e != executors_.end() && e->second.running > 0) --e->second.running;
      if (task.stage_index == kNoStage) continue;  // left over from an earlier job
      HandleStatus(job, task, status);
    }
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
    if (std::all_of(job.result_done.begin(), job.result_done.end(), [](bool d) { return d; })) {
      break;
    }
    Schedule(job);
    LaunchPending(job);
    const auto now = std::chrono::steady_clock::now();
    if (!executors_.empty()) {
      last_executor_seen_ = now;
    } else if (now - last_executor_seen_ > options_.no_executor_timeout) {
      job.failure = UnavailableError(
          "no executors registered for " +
          std::to_string(options_.no_executor_timeout.count() / 1000) + " s");
      break;
    }
    cv_.wait_for(lock, kTurn, [this] { return !inbox_.empty() || !abort_.ok(); });
  }

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
  for (size_t si = 0; si < job_->stages.size(); ++si) {
    const Stage& stage = job_->stages[si];
    StageProgress p;
    p.stage_id = stage.id;
    p.name = stage.plan.name;
    p.total = static_cast<uint32_t>(stage.partitions.size());
    for (uint32_t part : stage.partitions) {
      if (!NeedsRun(*job_, si, part)) ++p.done;
    }
    for (const auto& [id, task] : running_) {
      if (task.stage_index == si) ++p.running;
    }
    if (p.done < p.total && (p.running > 0 || p.done > 0)) out.push_back(p);
  }
  return out;
}

}  // namespace ember::scheduler
