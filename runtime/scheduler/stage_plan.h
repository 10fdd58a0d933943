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

  uint32_t num_partitions() const { return top->num_partitions; }
};

// The stage computing `top` itself.
StagePlan PlanStage(const std::shared_ptr<const internal::Node>& top,
                    std::shared_ptr<const internal::ShuffleDependency> output, std::string name);

// Every stage of the job ending at `top`, parents before children; the
// result stage is last. Each shuffle appears once even when reached twice.
std::vector<StagePlan> PlanJob(const std::shared_ptr<const internal::Node>& top,
                               const std::string& action);

// Where the map outputs of one shuffle live, indexed by map partition.
struct MapOutput {
  std::string executor_id;
  std::string address;
};

// Builds the description of one task: the stage's node table with only the
// source data this partition needs, and where its shuffle inputs live.
proto::TaskDescription DescribeTask(
    const StagePlan& stage, uint32_t partition,
    const std::map<uint32_t, std::vector<MapOutput>>& shuffle_outputs);

proto::FnRef ToProto(const internal::FnRef& ref);

}  // namespace ember::scheduler
