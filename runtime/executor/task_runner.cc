#include "runtime/executor/task_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <typeinfo>
#include <vector>

#include "common/demangle.h"
#include "common/log.h"
#include "ember/accumulator.h"
#include "ember/function.h"
#include "ember/operators.h"
#include "ember/task.h"
#include "runtime/api/broadcast_cache.h"
#include "runtime/executor/block_store.h"
#include "runtime/executor/memory_budget.h"
#include "runtime/executor/shuffle_reader.h"
#include "runtime/metrics/metrics.h"
#include "runtime/shuffle/shuffle_file.h"
#include "runtime/shuffle/shuffle_store.h"
#include "runtime/transport/shuffle_service.h"

namespace ember {
namespace {

using internal::Fail;
using internal::NodeView;

// A task status must fit in one gRPC message (the transport's limit is
// 256 MiB); leave room for the rest of the status.
constexpr size_t kMaxTaskStatusBytes = (256u << 20) - (1u << 20);

internal::FnRef FromProto(const proto::FnRef& ref) {
  return {static_cast<internal::Library>(ref.library()), ref.offset()};
}

using Kind = internal::InvokerSignature::Kind;

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNode:
      return "a node";
    case Kind::kShuffleWriter:
      return "a shuffle writer";
    case Kind::kResult:
      return "a result sink";
  }
  return "an unknown invoker";
}

bool SameType(const char* a, const char* b) {
  return a != nullptr && b != nullptr && std::strcmp(a, b) == 0;
}

// Resolves `ref` to an invoker of `kind`; `what` names it in errors.
template <typename Fn>
Result<std::pair<Fn, internal::InvokerSignature>> Resolve(const proto::FnRef& ref, Kind kind,
                                                          const std::string& what) {
  ASSIGN_OR_RETURN(internal::ResolvedFn fn, internal::ResolveFn(FromProto(ref)));
  if (fn.signature.kind != kind) {
    return InvalidArgumentError(what + " names " + KindName(fn.signature.kind) + ", not " +
                                KindName(kind));
  }
  return std::pair{reinterpret_cast<Fn>(const_cast<void*>(fn.address)), fn.signature};
}

class TaskRun final : public internal::TaskContext {
 public:
  TaskRun(const proto::TaskDescription& task, const TaskEnvironment& env,
          const std::atomic<bool>* cancelled)
      : task_(task), env_(env), cancelled_(cancelled) {}

  void CheckCancelled() override {
    if (cancelled_ != nullptr && cancelled_->load(std::memory_order_relaxed)) {
      throw internal::TaskCancelled(
          CancelledError("task " + std::to_string(task_.task_id()) + " was told to stop"));
    }
  }

  void AskCommit() override {
    CheckCancelled();
    if (!env_.can_commit) return;
    std::string reason;
    if (!env_.can_commit(task_.task_id(), &reason)) {
      throw internal::TaskCancelled(CancelledError(
          "not committing partition " + std::to_string(task_.partition()) + ": " + reason));
    }
  }

  // Resolves every operator and checks the node table's shape.
  Status Prepare() {
    const int n = task_.nodes_size();
    if (n == 0) return InvalidArgumentError("task has no nodes");
    if (task_.top() >= static_cast<uint32_t>(n)) {
      return InvalidArgumentError("task's top node " + std::to_string(task_.top()) +
                                  " is outside its " + std::to_string(n) + " nodes");
    }
    views_.resize(n);
    runs_.resize(n);
    outputs_.assign(n, nullptr);
    for (int i = 0; i < n; ++i) {
      const proto::Node& node = task_.nodes(i);
      const std::string where = "node " + std::to_string(i);
      if (node.parents_size() != node.parent_partitions_size()) {
        return InvalidArgumentError(where + ": parents and parent_partitions differ in length");
      }
      for (uint32_t parent : node.parents()) {
        // Parents come first, which also rules out cycles.
        if (parent >= static_cast<uint32_t>(i)) {
          return InvalidArgumentError(where + ": parent " + std::to_string(parent) +
                                      " does not precede it");
        }
      }
      ASSIGN_OR_RETURN(auto resolved, Resolve<internal::NodeRunFn>(node.run(), Kind::kNode, where));
      runs_[i] = resolved.first;
      RETURN_IF_ERROR(CheckNodeTypes(i, node, resolved.second));
      NodeView& v = views_[i];
      v.index = static_cast<uint32_t>(i);
      v.capture = node.capture();
      v.parents = std::span<const uint32_t>(node.parents().data(), node.parents_size());
      v.parent_partitions =
          std::span<const uint32_t>(node.parent_partitions().data(), node.parent_partitions_size());
      v.num_partitions = node.num_partitions();
      v.shuffles = std::span<const uint32_t>(node.shuffle_ids().data(), node.shuffle_ids_size());
    }
    return Status::Ok();
  }

  static bool CountFits(int n, int want) {
    if (want == internal::kAnyCount) return true;
    if (want == internal::kAnyParents) return n >= 1;
    return n == want;
  }
  static std::string CountName(int want) {
    if (want == internal::kAnyCount) return "any number";
    if (want == internal::kAnyParents) return "one or more";
    return std::to_string(want);
  }

  // A node reads what its parents produce and takes as many parents as it
  // was built for; anything else is a planner or wire fault.
  Status CheckNodeTypes(int i, const proto::Node& node, const internal::InvokerSignature& sig) {
    const std::string where = "node " + std::to_string(i);
    const int parents = node.parents_size();
    if (!CountFits(parents, sig.parents)) {
      return InvalidArgumentError(where + " has " + std::to_string(parents) +
                                  " parents; its operator takes " + CountName(sig.parents));
    }
    const int shuffles = node.shuffle_ids_size();
    if (!CountFits(shuffles, sig.shuffles)) {
      return InvalidArgumentError(where + " reads " + std::to_string(shuffles) +
                                  " shuffles; its operator reads " + CountName(sig.shuffles));
    }
    const char* parents_make = parents > 0 ? outputs_[node.parents(0)] : nullptr;
    for (uint32_t parent : node.parents()) {
      if (!SameType(outputs_[parent], parents_make)) {
        return InvalidArgumentError(where + ": its parents produce different records (" +
                                    DemangledName(parents_make) + ", " +
                                    DemangledName(outputs_[parent]) + ")");
      }
      const bool any = SameType(sig.input, internal::kSameAsParents);
      if (!any && !SameType(sig.input, outputs_[parent])) {
        return InvalidArgumentError(where + " reads " + DemangledName(sig.input) + " but node " +
                                    std::to_string(parent) + " produces " +
                                    DemangledName(outputs_[parent]));
      }
    }
    outputs_[i] = SameType(sig.output, internal::kSameAsParents) ? parents_make : sig.output;
    return Status::Ok();
  }

  // The sink reads what the top node produces.
  Status CheckSinkInput(const internal::InvokerSignature& sig) const {
    const char* top = outputs_[task_.top()];
    if (!SameType(sig.input, top)) {
      return InvalidArgumentError("the task's " + std::string(KindName(sig.kind)) + " reads " +
                                  DemangledName(sig.input) + " but its top node produces " +
                                  DemangledName(top));
    }
    return Status::Ok();
  }

  void RunNode(uint32_t index, uint32_t partition, ErasedConsumer& out) override {
    if (index >= views_.size()) Fail(InvalidArgumentError("no node " + std::to_string(index)));
    CheckCancelled();
    runs_[index](*this, views_[index], partition, out);
  }

  std::string_view Payload(const NodeView& node, uint32_t partition) override {
    const auto& payloads = task_.nodes(node.index).payload();
    auto it = payloads.find(partition);
    if (it == payloads.end()) {
      Fail(InvalidArgumentError("task carries no source data for node " +
                                std::to_string(node.index) + " partition " +
                                std::to_string(partition)));
    }
    return it->second;
  }

  void ReadShuffle(uint32_t shuffle_id, uint32_t reduce_id,
                   const std::function<void(std::string_view)>& on_block) override {
    const proto::ShuffleLocations* locations = nullptr;
    for (const auto& s : task_.shuffles()) {
      if (s.shuffle_id() == shuffle_id) locations = &s;
    }
    if (locations == nullptr) {
      Fail(InvalidArgumentError("task has no locations for shuffle " + std::to_string(shuffle_id)));
    }
    ShuffleReadEnv read_env;
    read_env.executor_id = env_.executor_id;
    read_env.store = env_.store;
    read_env.client = env_.shuffle_client;
    read_env.options = env_.fetch;
    read_env.metrics = env_.metrics;
    read_env.check_cancelled = [this] { CheckCancelled(); };
    counters().shuffle_bytes_read += ember::ReadShuffle(read_env, *locations, reduce_id, on_block);
  }

  void WriteShuffleBlock(uint32_t reduce_id, std::string_view block) override {
    CheckCancelled();
    if (!writer_) OpenWriter();
    Status st = writer_->AppendBlock(reduce_id, block);
    if (!st.ok()) Fail(st);
    counters().shuffle_bytes_written += block.size();
  }

  std::shared_ptr<const std::string> CachedBlock(uint64_t cache_id, uint32_t partition) override {
    return env_.blocks != nullptr ? env_.blocks->Get(cache_id, partition) : nullptr;
  }
  void PutCachedBlock(uint64_t cache_id, uint32_t partition, uint8_t level,
                      std::string records) override {
    if (env_.blocks == nullptr) return;
    const uint64_t bytes = records.size();
    Status st = env_.blocks->Put(cache_id, partition, level, std::move(records));
    if (!st.ok()) {
      // Not kept: the partition is computed again when next needed.
      EMBER_LOG(kWarning) << "could not keep cached partition " << partition << " of cache "
                          << cache_id << ": " << st.message();
      return;
    }
    kept_.push_back({cache_id, partition, bytes});
  }
  struct Kept {
    uint64_t cache_id;
    uint32_t partition;
    uint64_t bytes;
  };
  const std::vector<Kept>& kept() const { return kept_; }

  bool TryReserveMemory(uint64_t bytes) override {
    if (env_.memory == nullptr) return true;
    if (!env_.memory->TryReserve(bytes)) return false;
    reserved_ += bytes;
    return true;
  }
  void ReleaseMemory(uint64_t bytes) override {
    if (env_.memory == nullptr) return;
    bytes = std::min(bytes, reserved_);
    reserved_ -= bytes;
    env_.memory->Release(bytes);
  }
  std::string SpillDir() override {
    return env_.spill_dir.empty() ? TaskContext::SpillDir() : env_.spill_dir;
  }
  // Whatever an operator did not give back (it threw), given back now.
  ~TaskRun() override {
    if (env_.memory != nullptr && reserved_ > 0) env_.memory->Release(reserved_);
  }

  uint32_t partition() const override { return task_.partition(); }
  uint32_t attempt() const override { return task_.attempt(); }

  // Runs the sink; fills `status` on success.
  void Execute(proto::TaskStatus& status) {
    if (task_.has_shuffle_map()) {
      const proto::ShuffleMapSink& sink = task_.shuffle_map();
      if (sink.num_reducers() == 0) Fail(InvalidArgumentError("shuffle with zero reducers"));
      auto write =
          Resolve<internal::ShuffleWriteFn>(sink.write(), Kind::kShuffleWriter, "the shuffle sink");
      if (!write.ok()) Fail(write.status());
      if (Status st = CheckSinkInput(write->second); !st.ok()) Fail(st);
      write->first(*this, views_[task_.top()], task_.partition(), sink.capture(),
                   sink.num_reducers());
      // Reducers expect an output from every map task, even an empty one.
      if (!writer_) OpenWriter();
      auto sizes = writer_->Commit();
      if (!sizes.ok()) Fail(sizes.status());
      for (uint64_t size : *sizes) status.add_reducer_bytes(size);
    } else if (task_.has_result()) {
      auto run =
          Resolve<internal::ResultFn>(task_.result().run(), Kind::kResult, "the result sink");
      if (!run.ok()) Fail(run.status());
      if (Status st = CheckSinkInput(run->second); !st.ok()) Fail(st);
      status.set_result(
          run->first(*this, views_[task_.top()], task_.partition(), task_.result().capture()));
    } else {
      Fail(InvalidArgumentError("task has no sink"));
    }
  }

 private:
  void OpenWriter() {
    const proto::ShuffleMapSink& sink = task_.shuffle_map();
    Status st = env_.store->Prepare(sink.shuffle_id());
    if (!st.ok()) Fail(st);
    auto writer = shuffle::ShuffleFileWriter::Create(
        env_.store->MapOutputPath(sink.shuffle_id(), task_.partition()), sink.num_reducers());
    if (!writer.ok()) Fail(writer.status());
    writer_ = std::move(*writer);
  }

  const proto::TaskDescription& task_;
  const TaskEnvironment& env_;
  const std::atomic<bool>* cancelled_;
  std::vector<NodeView> views_;
  std::vector<internal::NodeRunFn> runs_;
  std::vector<const char*> outputs_;  // record type each node produces
  std::unique_ptr<shuffle::ShuffleFileWriter> writer_;
  std::vector<Kept> kept_;  // cached partitions this task stored
  uint64_t reserved_ = 0;   // claimed from env_.memory
};

}  // namespace

proto::TaskStatus RunTask(const proto::TaskDescription& task, const TaskEnvironment& env,
                          const std::atomic<bool>* cancelled) {
  const auto start = std::chrono::steady_clock::now();
  proto::TaskStatus status;
  status.set_task_id(task.task_id());
  if (env.metrics) env.metrics->tasks_started_total->Increment();
  // Broadcast values this task reads outlive a RemoveBroadcast meanwhile.
  internal::BroadcastPins pins;
  TaskRun run(task, env, cancelled);
  internal::TaskAccumulators accumulators;
  auto fail = [&](const std::string& message) {
    status.set_state(proto::TaskStatus::FAILED);
    status.set_error(message);
  };
  try {
    Status prepared = run.Prepare();
    if (!prepared.ok()) {
      fail(prepared.message());
    } else {
      {
        internal::TaskAccumulators::Scope scope(&accumulators);
        run.Execute(status);
      }
      status.set_state(proto::TaskStatus::SUCCEEDED);
      for (const auto& kept : run.kept()) {
        proto::CachedBlock* block = status.add_cached_blocks();
        block->set_cache_id(kept.cache_id);
        block->set_partition(kept.partition);
        block->set_bytes(kept.bytes);
      }
      for (const auto& [id, value] : accumulators.updates()) {
        proto::AccumulatorUpdate* update = status.add_accumulator_updates();
        update->set_id(id);
        switch (value.kind) {
          case internal::AccumulatorKind::kInt:
            update->set_int_value(value.i);
            break;
          case internal::AccumulatorKind::kUint:
            update->set_uint_value(value.u);
            break;
          case internal::AccumulatorKind::kDouble:
            update->set_double_value(value.d);
            break;
        }
      }
    }
  } catch (const FetchFailure& e) {
    status.set_state(proto::TaskStatus::FETCH_FAILED);
    status.set_error(e.status().message());
    status.set_failed_shuffle_id(e.shuffle_id);
    status.set_failed_map_id(e.map_id);
    status.set_failed_executor_id(e.executor_id);
    status.set_failed_epoch(e.epoch);
  } catch (const internal::TaskCancelled& e) {
    status.set_state(proto::TaskStatus::KILLED);
    status.set_error(e.status().message());
  } catch (const internal::TaskError& e) {
    fail(e.status().message());
  } catch (const std::exception& e) {
    // User code: keep the exception's own words, and say what it was.
    fail(DemangledName(typeid(e)) + ": " + e.what());
  } catch (...) {
    fail("a user function threw a non-standard exception");
  }
  if (status.ByteSizeLong() > kMaxTaskStatusBytes) {
    // Sending it would break the executor's stream; fail only the task.
    const size_t bytes = status.result().size();
    status.clear_result();
    fail("task result is " + std::to_string(bytes >> 20) +
         " MiB, more than one message can carry (255 MiB); collect less, or write large "
         "results with saveAsTextFile");
  }
  const internal::TaskCounters& c = run.counters();
  status.set_records_in(c.records_in);
  status.set_records_out(c.records_out);
  status.set_shuffle_bytes_written(c.shuffle_bytes_written);
  status.set_shuffle_bytes_read(c.shuffle_bytes_read);
  status.set_spilled_bytes(c.spilled_bytes);
  status.set_spills(c.spills);
  status.set_input_bytes(c.input_bytes);
  status.set_output_bytes(c.output_bytes);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  status.set_duration_seconds(seconds);
  if (env.metrics) {
    Metrics& m = *env.metrics;
    (status.state() == proto::TaskStatus::SUCCEEDED ? m.tasks_succeeded_total
                                                    : m.tasks_failed_total)
        ->Increment();
    m.task_duration_seconds->Observe(seconds);
    m.records_read_total->Increment(static_cast<double>(c.records_in));
    m.records_written_total->Increment(static_cast<double>(c.records_out));
    m.shuffle_written_bytes_total->Increment(static_cast<double>(c.shuffle_bytes_written));
    m.shuffle_read_bytes_total->Increment(static_cast<double>(c.shuffle_bytes_read));
    m.spilled_bytes_total->Increment(static_cast<double>(c.spilled_bytes));
    m.spills_total->Increment(static_cast<double>(c.spills));
  }
  return status;
}

}  // namespace ember
