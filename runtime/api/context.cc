// Context's non-template sources: textFile, textFileWithPath, wholeTextFiles
// and range.
#include <algorithm>
#include <memory>
#include <tuple>

#include "ember/rdd.h"
#include "runtime/textio/splits.h"

namespace ember {

namespace {

// The nodes of textFile and textFileWithPath: one split per partition.
std::shared_ptr<internal::Node> LinesNode(internal::JobRunner& runner, const char* name,
                                          internal::FnRef run, const std::string& path,
                                          uint32_t want) {
  auto files = textio::ExpandInputPaths(path);
  if (!files.ok()) throw InvalidInput(files.status().WithContext(name));
  // Paths come back absolute (fs::Resolve), or as the URIs of a registered
  // scheme, so executors in another working directory read the same files.
  auto splits = textio::ComputeSplits(*files, want);
  if (!splits.ok()) throw InvalidInput(splits.status().WithContext(std::string(name) + " " + path));
  auto encoded = std::make_shared<std::vector<std::string>>();
  encoded->reserve(splits->size());
  for (const textio::FileSplit& split : *splits) encoded->push_back(textio::EncodeSplit(split));
  auto node = std::make_shared<internal::Node>();
  node->id = runner.NewNodeId();
  node->name = name;
  node->run = run;
  node->num_partitions = static_cast<uint32_t>(encoded->size());
  node->payload = [encoded](uint32_t p) { return (*encoded)[p]; };
  return node;
}

}  // namespace

RDD<std::string> Context::textFile(const std::string& path, uint32_t min_partitions) {
  const uint32_t want = min_partitions > 0 ? min_partitions : defaultParallelism();
  return RDD<std::string>(this,
                          LinesNode(*runner_, "textFile", internal::TextFileRef(), path, want));
}

RDD<std::pair<std::string, std::string>> Context::textFileWithPath(const std::string& path,
                                                                   uint32_t min_partitions) {
  const uint32_t want = min_partitions > 0 ? min_partitions : defaultParallelism();
  return RDD<std::pair<std::string, std::string>>(
      this, LinesNode(*runner_, "textFileWithPath", internal::TextFileWithPathRef(), path, want));
}

RDD<std::string> Context::binaryRecords(const std::string& path, uint64_t record_bytes,
                                        uint32_t min_partitions) {
  auto files = textio::ExpandInputPaths(path);
  if (!files.ok()) throw InvalidInput(files.status().WithContext("binaryRecords"));
  const uint32_t want = min_partitions > 0 ? min_partitions : defaultParallelism();
  auto splits = textio::ComputeRecordSplits(*files, record_bytes, want);
  if (!splits.ok()) throw InvalidInput(splits.status().WithContext("binaryRecords " + path));
  auto encoded = std::make_shared<std::vector<std::string>>();
  for (const textio::FileSplit& split : *splits) encoded->push_back(textio::EncodeSplit(split));
  auto node = std::make_shared<internal::Node>();
  node->id = runner_->NewNodeId();
  node->name = "binaryRecords";
  node->run = internal::BinaryRecordsRef();
  node->capture = EncodeToString(record_bytes);
  node->num_partitions = static_cast<uint32_t>(encoded->size());
  node->payload = [encoded](uint32_t p) { return (*encoded)[p]; };
  return RDD<std::string>(this, std::move(node));
}

RDD<std::pair<std::string, std::string>> Context::wholeTextFiles(const std::string& path,
                                                                 uint32_t min_partitions) {
  auto files = textio::ExpandInputPaths(path);
  if (!files.ok()) throw InvalidInput(files.status().WithContext("wholeTextFiles"));
  const uint32_t want = min_partitions > 0 ? min_partitions : defaultParallelism();
  // Whole files, so never more partitions than files; consecutive files
  // share a partition.
  const size_t n = files->size();
  const uint32_t parts = static_cast<uint32_t>(std::min<size_t>(std::max<uint32_t>(want, 1), n));
  auto encoded = std::make_shared<std::vector<std::string>>(parts);
  for (uint32_t p = 0; p < parts; ++p) {
    std::vector<std::string> mine((*files).begin() + static_cast<ptrdiff_t>(n * p / parts),
                                  (*files).begin() + static_cast<ptrdiff_t>(n * (p + 1) / parts));
    (*encoded)[p] = EncodeToString(mine);
  }
  auto node = std::make_shared<internal::Node>();
  node->id = runner_->NewNodeId();
  node->name = "wholeTextFiles";
  node->run = internal::WholeTextFilesRef();
  node->num_partitions = parts;
  node->payload = [encoded](uint32_t p) { return (*encoded)[p]; };
  return RDD<std::pair<std::string, std::string>>(this, std::move(node));
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
