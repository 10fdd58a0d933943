// Splitting a job's lineage into stages, and describing one task of a stage.
//
// A stage is the largest set of nodes connected by narrow dependencies; it
// ends at the job's final RDD (the result stage) or at the map side of a
// shuffle (a shuffle-map stage). Pure functions of the graph, so they are
// unit-tested without any executor.
//
// Thread-safety: plans are immutable values once built.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ember/graph.h"
#include "runtime/proto/ember.pb.h"

namespace ember::scheduler {

struct StagePlan {
  // Null for the result stage; the dependency this stage writes otherwise.
  std::shared_ptr<const internal::ShuffleDependency> output;
  std::shared_ptr<const internal::Node> top;
  std::string name;
  // The stage's nodes, parents before children; top is last.
  std::vector<std::shared_ptr<const internal::Node>> nodes;
  // The shuffles this stage reads, which must be complete before it runs.
  std::vector<std::shared_ptr<const internal::ShuffleDependency>> inputs;
  // Each node's position in `nodes`.
  std::unordered_map<const internal::Node*, uint32_t> index;

  uint32_t num_partitions() const { return top->num_partitions; }
};

// The stage computing `top` itself.
StagePlan PlanStage(const std::shared_ptr<const internal::Node>& top,
                    std::shared_ptr<const internal::ShuffleDependency> output, std::string name);

// Every stage of the job ending at `top`, parents before children; the
// result stage is last. Each shuffle appears once even when reached twice.
std::vector<StagePlan> PlanJob(const std::shared_ptr<const internal::Node>& top,
                               const std::string& action);

// Where the map outputs of one shuffle live, indexed by map partition. The
// epoch is the scheduler's count of output losses when the output was
// recorded: a fetch failure naming an older epoch is about an output that
// has been recomputed since, and is ignored.
struct MapOutput {
  std::string executor_id;
  std::string address;
  uint64_t epoch = 0;
};

// The parts of a task description that are the same for every task of a
// stage (its node table, without source data): built once per stage.
proto::TaskDescription DescribeStage(const StagePlan& stage);
// Adds to `task` (from DescribeStage) the source data that computing
// `partition` reads, and sets the partition.
void AddPartition(const StagePlan& stage, uint32_t partition, proto::TaskDescription* task);
// Where one shuffle's map outputs live, as a task carries it.
proto::ShuffleLocations DescribeShuffle(uint32_t shuffle_id, const std::vector<MapOutput>& outputs);

// The whole description of one task: DescribeStage, AddPartition and the
// locations of every shuffle input.
proto::TaskDescription DescribeTask(
    const StagePlan& stage, uint32_t partition,
    const std::map<uint32_t, std::vector<MapOutput>>& shuffle_outputs);

proto::FnRef ToProto(const internal::FnRef& ref);

}  // namespace ember::scheduler
