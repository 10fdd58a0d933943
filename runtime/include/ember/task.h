// The executor-side contract between the engine and the operator code
// instantiated in the application library.
//
// A task runs a chain of nodes. Records move between nodes by push: each
// node hands every record to the next one's Consumer<T>::Push, so narrow
// transformations are pipelined and nothing is materialised between them.
// Push takes a mutable reference: the callee may move from it, which lets a
// source reuse one buffer for every record it reads.
//
// Errors inside a task are exceptions (TaskError, or whatever a user
// function throws); they end the task and are caught once, where the
// executor turns them into a failed TaskStatus.
//
// Thread-safety: a TaskContext belongs to one task on one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>

#include "ember/status.h"

namespace ember {

class ErasedConsumer {
 public:
  virtual ~ErasedConsumer() = default;
  // The record type the consumer takes, so that a node can check what it
  // was handed before it pushes anything.
  virtual const std::type_info& record_type() const = 0;
};

template <typename T>
class Consumer : public ErasedConsumer {
 public:
  virtual void Push(T& value) = 0;
  const std::type_info& record_type() const final { return typeid(T); }
};

namespace internal {

// An engine error inside a task, carrying its Status.
class TaskError : public std::runtime_error {
 public:
  explicit TaskError(Status status)
      : std::runtime_error(status.message()), status_(std::move(status)) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

[[noreturn]] inline void Fail(Status status) {
  throw TaskError(std::move(status));
}

// `out` as a Consumer<T>, or a TaskError naming both types: a node table
// whose record types do not fit must fail its task, never be read as
// another type. Checked once per node run, not per record.
template <typename T>
Consumer<T>& As(ErasedConsumer& out) {
  if (out.record_type() != typeid(T)) {
    Fail(InternalError(std::string("a node producing ") + typeid(T).name() +
                       " was handed a consumer of " + out.record_type().name() +
                       ": the task's node table does not match the library"));
  }
  return static_cast<Consumer<T>&>(out);
}

// Thrown by a result sink that has all it needs (take(n)); not an error.
struct StopPartition {};

// The attempt was told to stop (its job failed, its stage was resubmitted,
// its executor is shutting down): it ends as KILLED, not as a failure.
class TaskCancelled : public TaskError {
 public:
  explicit TaskCancelled(Status status) : TaskError(std::move(status)) {}
};

// How many records a source or sink handles between checks for
// cancellation. Each record goes through the user's functions before the
// next check, so with a slow function (10 ms a record) a killed task still
// stops within a second; a check is one relaxed atomic load.
inline constexpr uint64_t kCancelCheckEvery = 64;

// One node of the stage, as the executor sees it.
struct NodeView {
  uint32_t index = 0;
  std::string_view capture;
  std::span<const uint32_t> parents;
  std::span<const uint32_t> parent_partitions;
  uint32_t num_partitions = 0;
  std::span<const uint32_t> shuffles;  // the ids of the shuffles the node reads

  // The id of the node's `slot`th shuffle, or a TaskError: a node table
  // that gives an operator fewer shuffles than it reads is a planner or wire
  // fault, never an out-of-bounds read.
  uint32_t Shuffle(size_t slot) const;
};

inline uint32_t NodeView::Shuffle(size_t slot) const {
  if (slot >= shuffles.size()) {
    Fail(InvalidArgumentError("node " + std::to_string(index) + " reads " +
                              std::to_string(shuffles.size()) + " shuffles, not " +
                              std::to_string(slot + 1)));
  }
  return shuffles[slot];
}

// Counters the operators keep; the executor reports them with the status.
struct TaskCounters {
  uint64_t records_in = 0;
  uint64_t records_out = 0;
  uint64_t shuffle_bytes_written = 0;
  uint64_t shuffle_bytes_read = 0;
  uint64_t spilled_bytes = 0;  // written to spill files
  uint64_t spills = 0;         // spill files written
  uint64_t input_bytes = 0;    // read from input files
  uint64_t output_bytes = 0;   // written to output files
};

class TaskContext {
 public:
  virtual ~TaskContext() = default;

  // Runs node `index` of this task for `partition`, pushing into `out`,
  // which must be a Consumer of that node's record type.
  virtual void RunNode(uint32_t index, uint32_t partition, ErasedConsumer& out) = 0;
  void RunParent(const NodeView& node, size_t slot, uint32_t partition, ErasedConsumer& out) {
    if (slot >= node.parents.size()) {
      Fail(InvalidArgumentError("node " + std::to_string(node.index) + " has " +
                                std::to_string(node.parents.size()) + " parents, not " +
                                std::to_string(slot + 1)));
    }
    RunNode(node.parents[slot], partition, out);
  }

  // Source data of `node` for `partition` (a file split, a slice).
  virtual std::string_view Payload(const NodeView& node, uint32_t partition) = 0;

  // Calls `on_block` with every verified block of encoded records that the
  // map tasks of `shuffle_id` wrote for `reduce_id`.
  virtual void ReadShuffle(uint32_t shuffle_id, uint32_t reduce_id,
                           const std::function<void(std::string_view)>& on_block) = 0;

  // Map side: appends one block of encoded records for `reduce_id`. Blocks
  // must come in non-decreasing reducer order.
  virtual void WriteShuffleBlock(uint32_t reduce_id, std::string_view block) = 0;

  // Cached partitions (persist): the encoded records of block (cache_id,
  // partition) kept on this executor, or null; and keeping one (level: 0
  // memory, 1 disk, 2 memory and disk). A context with no block store
  // keeps nothing.
  virtual std::shared_ptr<const std::string> CachedBlock(uint64_t /*cache_id*/,
                                                         uint32_t /*partition*/) {
    return nullptr;
  }
  virtual void PutCachedBlock(uint64_t /*cache_id*/, uint32_t /*partition*/, uint8_t /*level*/,
                              std::string /*records*/) {}

  // The executor's memory budget for the records operators hold (hash
  // tables, sort buffers, unwritten shuffle output), shared by its task
  // threads. TryReserveMemory claims `bytes` more and returns false when the
  // budget cannot hold them: the operator then spills what it holds and
  // releases it. A context without a budget grants everything.
  virtual bool TryReserveMemory(uint64_t /*bytes*/) { return true; }
  virtual void ReleaseMemory(uint64_t /*bytes*/) {}
  // Where spill files go (the executor's local directory).
  virtual std::string SpillDir() { return "/tmp"; }

  // For saveAsTextFile: the partition being computed and attempt number.
  virtual uint32_t partition() const = 0;
  virtual uint32_t attempt() const = 0;

  // Throws TaskCancelled once the attempt has been told to stop. Operators
  // call it between batches of records.
  virtual void CheckCancelled() = 0;
  // Asks the driver whether this attempt may make its output final; at most
  // one attempt per partition gets true. Throws TaskCancelled with the
  // driver's reason otherwise.
  virtual void AskCommit() = 0;

  TaskCounters& counters() { return counters_; }

 private:
  TaskCounters counters_;
};

}  // namespace internal
}  // namespace ember
