// The driver's lineage graph, as the RDD templates build it, and the
// interface through which they hand jobs to the driver.
//
// A Node is one RDD. Narrow parents are pipelined into the same stage; a
// ShuffleDependency marks a stage boundary. A node may read several
// shuffles (cogroup), and may mix them with narrow parents (a side that is
// already partitioned the way the node needs). Nodes are shared: many RDDs may
// derive from one, and the scheduler reuses shuffle outputs already
// computed for a dependency, which is why nodes are held by shared_ptr.
//
// Thread-safety: nodes are immutable once built. JobRunner implementations
// state their own guarantees (the driver serialises jobs).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/function.h"
#include "ember/status.h"

namespace ember::internal {

struct Node;
class AccumulatorState;

struct ShuffleDependency {
  uint32_t shuffle_id = 0;
  // While any node holds this dependency its map outputs may be read again;
  // when the last goes, the lease tells the runner to delete them.
  std::shared_ptr<const void> lease;
  std::shared_ptr<const Node> map_side;  // the RDD whose records are shuffled
  uint32_t num_reducers = 0;
  FnRef write;          // map-side writer (partitioning, optional combine)
  std::string capture;  // writer's closure bytes (the combine function)
};

struct Node {
  uint32_t id = 0;
  std::string name;  // operation name, for logs and progress ("map", "reduceByKey")
  FnRef run;
  std::string capture;
  Retained retained;                                 // what `capture` refers to (broadcast leases)
  std::vector<std::shared_ptr<const Node>> parents;  // narrow dependencies
  // The shuffles the node reads, in the order its operator expects them.
  std::vector<std::shared_ptr<const ShuffleDependency>> shuffles;
  uint32_t num_partitions = 0;
  // Records of partition p all have keys with StableHash(key) %
  // num_partitions == p: what reduceByKey, groupByKey and cogroup produce and
  // mapValues and filter keep. A by-key operation with as many partitions
  // reads such a node without a shuffle.
  bool hash_partitioned = false;
  // Non-zero on the node persist() makes: its partitions are kept on the
  // executors that computed them, under this id, and tasks that read them
  // go there when they can.
  uint64_t cache_id = 0;
  // Per-partition source data (file splits, slices); empty for non-sources.
  std::function<std::string(uint32_t partition)> payload;
};

// What an action computes from each partition of the final RDD.
struct ResultSpec {
  std::string name;  // the action ("collect", "saveAsTextFile")
  FnRef run;
  std::string capture;
};

class JobRunner {
 public:
  virtual ~JobRunner() = default;
  virtual uint32_t NewNodeId() = 0;
  virtual uint32_t NewShuffleId() = 0;
  virtual uint64_t NewBroadcastId() = 0;
  // Accumulators: the runner adds each counted task's updates to the state
  // registered under their id. A runner that runs no tasks needs neither.
  virtual uint64_t NewAccumulatorId() { return 0; }
  virtual void RegisterAccumulator(uint64_t /*id*/, std::shared_ptr<AccumulatorState> /*state*/) {}
  // Leases whose destruction tells the runner that nothing can use a
  // shuffle's map outputs, or a broadcast's value, again, so it frees them
  // on every executor. Null when the runner frees nothing.
  virtual std::shared_ptr<const void> LeaseShuffle(uint32_t /*shuffle_id*/) { return nullptr; }
  virtual std::shared_ptr<const void> LeaseBroadcast(uint64_t /*id*/) { return nullptr; }
  // Cached partitions: a new cache id, a lease that frees the blocks once
  // no RDD can read them, and unpersist (free them now).
  virtual uint64_t NewCacheId() { return 0; }
  virtual std::shared_ptr<const void> LeaseCache(uint64_t /*cache_id*/) { return nullptr; }
  virtual void Unpersist(uint64_t /*cache_id*/) {}
  // Makes a broadcast value available to executors (as `encoded`) and to
  // the driver's own process (as `value`).
  virtual void RegisterBroadcast(uint64_t id, std::string encoded,
                                 std::shared_ptr<const void> value) = 0;
  // Runs one job: computes `partitions` of `top` (all when empty) and hands
  // each partition's encoded result to `on_result`, in completion order.
  // Blocks until done. The error names the failing task and its cause.
  virtual Status RunJob(const std::shared_ptr<const Node>& top, const ResultSpec& sink,
                        const std::vector<uint32_t>& partitions,
                        const std::function<Status(uint32_t, std::string&&)>& on_result) = 0;
  virtual uint32_t DefaultParallelism() const = 0;
  virtual std::string Conf(const std::string& key, const std::string& default_value) const = 0;
  virtual const std::string& AppId() const = 0;
  virtual const std::string& AppName() const = 0;
};

}  // namespace ember::internal
