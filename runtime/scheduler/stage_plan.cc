#include "runtime/scheduler/stage_plan.h"

#include <functional>
#include <set>
#include <unordered_set>

#include "ember/operators.h"

namespace ember::scheduler {

using internal::Node;
using internal::ShuffleDependency;

proto::FnRef ToProto(const internal::FnRef& ref) {
  proto::FnRef out;
  out.set_library(static_cast<proto::FnRef::Library>(ref.library));
  out.set_offset(ref.offset);
  return out;
}

StagePlan PlanStage(const std::shared_ptr<const Node>& top,
                    std::shared_ptr<const ShuffleDependency> output, std::string name) {
  StagePlan plan;
  plan.output = std::move(output);
  plan.top = top;
  plan.name = std::move(name);
  std::unordered_set<const Node*> seen;
  std::unordered_set<const ShuffleDependency*> inputs_seen;
  // Post-order DFS: a node is appended after all its parents.
  std::function<void(const std::shared_ptr<const Node>&)> visit =
      [&](const std::shared_ptr<const Node>& node) {
        if (!seen.insert(node.get()).second) return;
        for (const auto& parent : node->parents) visit(parent);
        for (const auto& dep : node->shuffles) {
          if (inputs_seen.insert(dep.get()).second) plan.inputs.push_back(dep);
        }
        plan.nodes.push_back(node);
      };
  visit(top);
  for (uint32_t i = 0; i < plan.nodes.size(); ++i) plan.index[plan.nodes[i].get()] = i;
  return plan;
}

std::vector<StagePlan> PlanJob(const std::shared_ptr<const Node>& top, const std::string& action) {
  std::vector<StagePlan> stages;
  std::unordered_set<uint32_t> planned;
  std::function<void(const StagePlan&)> add_parents = [&](const StagePlan& stage) {
    for (const auto& dep : stage.inputs) {
      if (!planned.insert(dep->shuffle_id).second) continue;
      // The map stage is named after the operation that reads its output.
      std::string name = "shuffle " + std::to_string(dep->shuffle_id);
      for (const auto& node : stage.nodes) {
        for (const auto& read : node->shuffles) {
          if (read == dep) name = node->name;
        }
      }
      StagePlan parent = PlanStage(dep->map_side, dep, name);
      add_parents(parent);
      stages.push_back(std::move(parent));
    }
  };
  StagePlan result = PlanStage(top, nullptr, action);
  add_parents(result);
  stages.push_back(std::move(result));
  return stages;
}

namespace {

// Adds to `task` the source data that computing `partition` of node
// `node_index` reads, following the same partition mapping the operators use.
void AddPayloads(const StagePlan& stage, uint32_t node_index, uint32_t partition,
                 proto::TaskDescription& task) {
  const Node& node = *stage.nodes[node_index];
  if (node.payload) {
    auto& payloads = *task.mutable_nodes(static_cast<int>(node_index))->mutable_payload();
    if (!payloads.contains(partition)) payloads[partition] = node.payload(partition);
  }
  if (node.run == internal::UnionRef()) {
    uint32_t offset = 0;
    for (const auto& parent : node.parents) {
      if (partition < offset + parent->num_partitions) {
        AddPayloads(stage, stage.index.at(parent.get()), partition - offset, task);
        return;
      }
      offset += parent->num_partitions;
    }
    return;
  }
  if (node.run == internal::CoalesceRef() && node.parents.size() == 1) {
    const Node& parent = *node.parents[0];
    auto [first, last] =
        internal::CoalescedParents(partition, node.num_partitions, parent.num_partitions);
    for (uint32_t p = first; p < last; ++p) {
      AddPayloads(stage, stage.index.at(&parent), p, task);
    }
    return;
  }
  for (const auto& parent : node.parents) {
    AddPayloads(stage, stage.index.at(parent.get()), partition, task);
  }
}

}  // namespace

proto::TaskDescription DescribeStage(const StagePlan& stage) {
  proto::TaskDescription task;
  for (const auto& node : stage.nodes) {
    proto::Node* out = task.add_nodes();
    out->set_id(node->id);
    *out->mutable_run() = ToProto(node->run);
    out->set_capture(node->capture);
    out->set_num_partitions(node->num_partitions);
    for (const auto& parent : node->parents) {
      out->add_parents(stage.index.at(parent.get()));
      out->add_parent_partitions(parent->num_partitions);
    }
    for (const auto& dep : node->shuffles) out->add_shuffle_ids(dep->shuffle_id);
  }
  task.set_top(static_cast<uint32_t>(stage.nodes.size() - 1));
  return task;
}

void AddPartition(const StagePlan& stage, uint32_t partition, proto::TaskDescription* task) {
  task->set_partition(partition);
  AddPayloads(stage, task->top(), partition, *task);
}

proto::ShuffleLocations DescribeShuffle(uint32_t shuffle_id,
                                        const std::vector<MapOutput>& outputs) {
  proto::ShuffleLocations locations;
  locations.set_shuffle_id(shuffle_id);
  for (uint32_t m = 0; m < outputs.size(); ++m) {
    proto::MapLocation* map = locations.add_maps();
    map->set_map_id(m);
    map->set_executor_id(outputs[m].executor_id);
    map->set_address(outputs[m].address);
    map->set_epoch(outputs[m].epoch);
  }
  return locations;
}

proto::TaskDescription DescribeTask(const StagePlan& stage, uint32_t partition,
                                    const std::map<uint32_t, std::vector<MapOutput>>& outputs) {
  proto::TaskDescription task = DescribeStage(stage);
  AddPartition(stage, partition, &task);
  for (const auto& dep : stage.inputs) {
    auto it = outputs.find(dep->shuffle_id);
    if (it == outputs.end()) {
      task.add_shuffles()->set_shuffle_id(dep->shuffle_id);
      continue;
    }
    *task.add_shuffles() = DescribeShuffle(dep->shuffle_id, it->second);
  }
  return task;
}

}  // namespace ember::scheduler
