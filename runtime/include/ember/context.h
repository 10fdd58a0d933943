// ember::Context: what the driver program receives, and where RDDs start.
//
// Sources (textFile, parallelize, range) and broadcast variables are created
// here; transformations and actions live on RDD<T> (ember/rdd.h). Actions run
// jobs on the cluster; a failed job throws JobFailed with the cause, e.g. the
// message of an exception a user function threw on an executor.
//
// Thread-safety: use a Context from the driver program's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ember/accumulator.h"
#include "ember/broadcast.h"
#include "ember/graph.h"
#include "ember/record.h"

namespace ember {

template <typename T>
class RDD;

// An action failed; what() is the reason, as the driver reports it.
class JobFailed : public std::runtime_error {
 public:
  explicit JobFailed(const Status& status)
      : std::runtime_error(status.message()), status_(status) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

// Bad arguments to a source or transformation, caught on the driver before
// any job runs (a missing input path, an output directory that exists).
class InvalidInput : public std::runtime_error {
 public:
  explicit InvalidInput(const Status& status)
      : std::runtime_error(status.message()), status_(status) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

class Context {
 public:
  explicit Context(internal::JobRunner* runner) : runner_(runner) {}

  // Lines of text files. `path` is a file, a directory (its visible files),
  // a glob, or a comma-separated list of those. Files are split into byte
  // ranges on line boundaries; min_partitions = 0 means the default
  // parallelism. Throws InvalidInput when nothing matches.
  RDD<std::string> textFile(const std::string& path, uint32_t min_partitions = 0);

  // Like textFile, with each line's file: (path, line). Builds an index by
  // file, or by line, from one RDD over many files.
  RDD<std::pair<std::string, std::string>> textFileWithPath(const std::string& path,
                                                            uint32_t min_partitions = 0);

  // Fixed-length binary records (TeraSort's 100-byte ones, say), each a
  // std::string of record_bytes bytes. Every file must hold whole records;
  // a file that does not is refused, by name, before any job runs.
  RDD<std::string> binaryRecords(const std::string& path, uint64_t record_bytes,
                                 uint32_t min_partitions = 0);

  // Each file whole, as (path, content); the files of `path` as for
  // textFile, spread over at most min_partitions partitions (0: the
  // default parallelism), never more than there are files.
  RDD<std::pair<std::string, std::string>> wholeTextFiles(const std::string& path,
                                                          uint32_t min_partitions = 0);

  // Distributes `data` over num_slices partitions (0: default parallelism).
  template <typename T>
  RDD<T> parallelize(std::vector<T> data, uint32_t num_slices = 0);

  // The integers start, start+step, ... below end (above it for step < 0).
  RDD<int64_t> range(int64_t start, int64_t end, int64_t step = 1, uint32_t num_slices = 0);

  // Ships `value` once to every executor; capture the handle in closures.
  template <typename T>
  Broadcast<T> broadcast(T value);

  // A number tasks add to (pass the handle with ember::with) and the driver
  // reads with value(); see ember/accumulator.h for when an addition counts.
  template <typename T>
  Accumulator<T> accumulator(T initial = T{}) {
    const uint64_t id = runner_->NewAccumulatorId();
    auto state = std::make_shared<internal::AccumulatorState>(internal::KindOf<T>());
    state->Add(internal::ValueOf(initial));
    runner_->RegisterAccumulator(id, state);
    return Accumulator<T>(id, std::move(state));
  }

  uint32_t defaultParallelism() const { return runner_->DefaultParallelism(); }
  std::string getConf(const std::string& key, const std::string& default_value = "") const {
    return runner_->Conf(key, default_value);
  }
  const std::string& appId() const { return runner_->AppId(); }
  const std::string& appName() const { return runner_->AppName(); }

  internal::JobRunner& runner() { return *runner_; }

 private:
  internal::JobRunner* runner_;
};

}  // namespace ember
