// A JobRunner that only records the lineage graph the RDD templates build;
// it runs no job. For tests of planning and scheduling decisions.
#pragma once

#include <memory>
#include <string>

#include "ember/graph.h"

namespace ember::testing {

class GraphOnlyRunner final : public internal::JobRunner {
 public:
  uint32_t NewNodeId() override { return next_node_++; }
  uint32_t NewShuffleId() override { return next_shuffle_++; }
  uint64_t NewBroadcastId() override { return 1; }
  void RegisterBroadcast(uint64_t, std::string, std::shared_ptr<const void>) override {}
  Status RunJob(const std::shared_ptr<const internal::Node>&, const internal::ResultSpec&,
                const std::vector<uint32_t>&,
                const std::function<Status(uint32_t, std::string&&)>&) override {
    return UnimplementedError("graph-only runner");
  }
  uint32_t DefaultParallelism() const override { return 4; }
  std::string Conf(const std::string&, const std::string& d) const override { return d; }
  const std::string& AppId() const override { return id_; }
  const std::string& AppName() const override { return id_; }

 private:
  uint32_t next_node_ = 0;
  uint32_t next_shuffle_ = 0;
  std::string id_ = "test";
};

}  // namespace ember::testing
