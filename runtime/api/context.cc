// Context's non-template sources: textFile and range.
#include <algorithm>
#include <memory>
#include <tuple>

#include "ember/rdd.h"
#include "runtime/textio/splits.h"

namespace ember {

RDD<std::string> Context::textFile(const std::string& path, uint32_t min_partitions) {
  auto files = textio::ExpandInputPaths(path);
  if (!files.ok()) throw InvalidInput(files.status().WithContext("textFile"));
  // Paths come back absolute (fs::Resolve), or as the URIs of a registered
  // scheme, so executors in another working directory read the same files.
  const uint32_t want = min_partitions > 0 ? min_partitions : defaultParallelism();
  auto splits = textio::ComputeSplits(*files, want);
  if (!splits.ok()) throw InvalidInput(splits.status().WithContext("textFile " + path));
  auto encoded = std::make_shared<std::vector<std::string>>();
  encoded->reserve(splits->size());
  for (const textio::FileSplit& split : *splits) encoded->push_back(textio::EncodeSplit(split));
  auto node = std::make_shared<internal::Node>();
  node->id = runner_->NewNodeId();
  node->name = "textFile";
  node->run = internal::TextFileRef();
  node->num_partitions = static_cast<uint32_t>(encoded->size());
  node->payload = [encoded](uint32_t p) { return (*encoded)[p]; };
  return RDD<std::string>(this, std::move(node));
}

RDD<int64_t> Context::range(int64_t start, int64_t end, int64_t step, uint32_t num_slices) {
  if (step == 0) throw InvalidInput(InvalidArgumentError("range: step must not be 0"));
  const uint32_t slices = num_slices > 0 ? num_slices : defaultParallelism();
  // Element count without overflow: the span is computed in unsigned space.
  // Element count without overflow: the span and the step's magnitude are
  // taken in unsigned space, and the division rounds up without adding.
  uint64_t count = 0;
  const uint64_t magnitude =
      step > 0 ? static_cast<uint64_t>(step) : static_cast<uint64_t>(-(step + 1)) + 1;
  if ((step > 0 && end > start) || (step < 0 && start > end)) {
    const uint64_t span = step > 0 ? static_cast<uint64_t>(end) - static_cast<uint64_t>(start)
                                   : static_cast<uint64_t>(start) - static_cast<uint64_t>(end);
    count = span / magnitude + (span % magnitude != 0 ? 1 : 0);
  }
  auto node = std::make_shared<internal::Node>();
  node->id = runner_->NewNodeId();
  node->name = "range";
  node->run = internal::RangeRef();
  node->num_partitions = slices;
  node->payload = [start, step, count, slices](uint32_t p) {
    const uint64_t first = static_cast<uint64_t>((static_cast<__uint128_t>(count) * p) / slices);
    const uint64_t last =
        static_cast<uint64_t>((static_cast<__uint128_t>(count) * (p + 1)) / slices);
    const int64_t value =
        static_cast<int64_t>(static_cast<uint64_t>(start) + first * static_cast<uint64_t>(step));
    return EncodeToString(std::make_tuple(value, step, last - first));
  };
  return RDD<int64_t>(this, std::move(node));
}

}  // namespace ember
