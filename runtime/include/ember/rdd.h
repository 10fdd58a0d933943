// RDD<T>: a partitioned, immutable collection and the operations on it.
//
// Transformations are lazy: they add a node to the lineage graph. Actions
// run a job. Every operation here instantiates, inside the application
// library, the invoker templates of ember/operators.h that executors call.
//
// Functions passed to operations are lambdas or functors that capture
// nothing (checked at compile time): they run in other processes. State
// they need travels with ember::with(state, fn) (ember/function.h); large
// state through Context::broadcast.
//
// Thread-safety: RDD handles are values; build and act on them from the
// driver program's thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ember/context.h"
#include "ember/operators.h"

namespace ember {

template <typename T>
class RDD {
  // Ownership first: a view is often not encodable either, and what to use
  // instead is what its user needs to read first.
  static_assert(OwnsBytes<T>,
                "Ember: RDD records and keys must own their bytes: a std::string_view, span or "
                "pointer would point into a buffer that is reused once the record moves on (a "
                "shuffle block, a line buffer); use std::string or std::vector instead");
  static_assert(!OwnsBytes<T> || Encodable<T>,
                "Ember: RDD records must be encodable: arithmetic types, std::string, std::pair, "
                "std::tuple, std::vector, std::optional, or a struct that opts in with "
                "EMBER_FIELDS(...)");

 public:
  using value_type = T;

  RDD(Context* ctx, std::shared_ptr<const internal::Node> node)
      : ctx_(ctx), node_(std::move(node)) {}

  uint32_t getNumPartitions() const { return node_->num_partitions; }
  const std::shared_ptr<const internal::Node>& node() const { return node_; }
  Context& context() const { return *ctx_; }

  // ------------------------------------------------------ transformations --

  // f(T) -> U.
  template <typename F>
  auto map(F f) const {
    internal::CheckUserFunction<F>();
    using U = std::decay_t<std::invoke_result_t<F&, T&&>>;
    return Pipe<U>("map", internal::MapStep<T, U, F>{f});
  }

  // Either f(T) -> a container of U, or f(T, out) calling out(u) for each
  // output. With the second form the output type is std::string unless named:
  // flatMap<int64_t>(...).
  template <typename U = void, typename F>
  auto flatMap(F f) const {
    internal::CheckUserFunction<F>();
    if constexpr (std::is_invocable_v<F&, T&&>) {
      using R = std::decay_t<std::invoke_result_t<F&, T&&>>;
      using Out = std::conditional_t<std::is_void_v<U>, std::decay_t<typename R::value_type>, U>;
      return Pipe<Out>("flatMap", internal::FlatMapStep<T, Out, F, false>{f});
    } else {
      using Out = std::conditional_t<std::is_void_v<U>, std::string, U>;
      static_assert(std::is_invocable_v<F&, T&&, internal::Emitter<Out>&>,
                    "Ember: flatMap takes f(record) returning a container, or f(record, out) "
                    "calling out(value) for each output");
      return Pipe<Out>("flatMap", internal::FlatMapStep<T, Out, F, true>{f});
    }
  }

  // Keeps the records for which f(record) is true.
  template <typename F>
  RDD<T> filter(F f) const {
    internal::CheckUserFunction<F>();
    return Pipe<T>("filter", internal::FilterStep<T, F>{f});
  }

  // f(std::vector<T>&&) -> a container of U, called once per partition.
  // The partition is buffered in memory to give f the whole of it.
  template <typename F>
  auto mapPartitions(F f) const {
    internal::CheckUserFunction<F>();
    using R = std::decay_t<std::invoke_result_t<F&, std::vector<T>&&>>;
    using U = std::decay_t<typename R::value_type>;
    auto node = NewNode("mapPartitions");
    node->run = internal::RefOf<&internal::MapPartitionsOp<T, U, F>::Run>();
    node->capture = internal::CaptureBytes(f, &node->retained);
    node->parents = {node_};
    node->num_partitions = node_->num_partitions;
    return RDD<U>(ctx_, std::move(node));
  }

  // For pair records: f(V) -> W on the value, keeping the key.
  template <typename F>
  auto mapValues(F f) const {
    internal::CheckUserFunction<F>();
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    using W = std::decay_t<std::invoke_result_t<F&, V&&>>;
    return Pipe<std::pair<K, W>>("mapValues", internal::MapValuesStep<K, V, W, F>{f});
  }

  // (f(record), record) pairs.
  template <typename F>
  auto keyBy(F f) const {
    internal::CheckUserFunction<F>();
    using K = std::decay_t<std::invoke_result_t<F&, const T&>>;
    return Pipe<std::pair<K, T>>("keyBy", internal::KeyByStep<T, K, F>{f});
  }

  // For pair records: merges the values of each key with f(V, V) -> V, first
  // within each map task (map-side combine), then across them.
  template <typename F>
  RDD<T> reduceByKey(F f, uint32_t num_partitions = 0) const {
    internal::CheckUserFunction<F>();
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    static_assert(std::is_invocable_r_v<V, F&, V&&, V&&>,
                  "Ember: reduceByKey's function must take two values and return one");
    internal::Retained retained;
    std::string capture = internal::CaptureBytes(f, &retained);
    return Shuffled<T>("reduceByKey", internal::RefOf<&internal::CombineWriteOp<K, V, F>::Write>(),
                       capture, internal::RefOf<&internal::CombineReadOp<K, V, F>::Run>(), capture,
                       num_partitions, std::move(retained));
  }

  // For pair records: all values of each key, as (key, vector of values).
  auto groupByKey(uint32_t num_partitions = 0) const {
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    return Shuffled<std::pair<K, std::vector<V>>>(
        "groupByKey", internal::RefOf<&internal::HashWriteOp<K, V>::Write>(), std::string(),
        internal::RefOf<&internal::GroupReadOp<K, V>::Run>(), std::string(), num_partitions);
  }

  // Each distinct record once.
  RDD<T> distinct(uint32_t num_partitions = 0) const {
    return map([](T v) { return std::pair<T, internal::Unit>(std::move(v), internal::Unit{}); })
        .reduceByKey([](internal::Unit a, internal::Unit) { return a; }, num_partitions)
        .map([](std::pair<T, internal::Unit> kv) { return std::move(kv.first); });
  }

  // The records of this RDD followed by those of `other` (Spark's union;
  // `union` is a C++ keyword). No shuffle: partitions are concatenated.
  RDD<T> unionWith(const RDD<T>& other) const {
    auto node = NewNode("union");
    node->run = internal::UnionRef();
    node->parents = {node_, other.node_};
    node->num_partitions = node_->num_partitions + other.node_->num_partitions;
    return RDD<T>(ctx_, std::move(node));
  }

  // Redistributes the records evenly over num_partitions partitions.
  RDD<T> repartition(uint32_t num_partitions) const {
    if (num_partitions == 0) {
      throw InvalidInput(InvalidArgumentError("repartition: the number of partitions must be > 0"));
    }
    return Shuffled<T>("repartition", internal::RefOf<&internal::RoundRobinWriteOp<T>::Write>(),
                       std::string(), internal::RefOf<&internal::PlainReadOp<T>::Run>(),
                       std::string(), num_partitions);
  }

  // -------------------------------------------------------------- actions --

  std::vector<T> collect() const {
    std::vector<std::string> parts(node_->num_partitions);
    Run("collect", internal::RefOf<&internal::CollectSink<T>::Run>(), std::string(), {},
        [&](uint32_t p, std::string&& bytes) {
          parts[p] = std::move(bytes);
          return Status::Ok();
        });
    std::vector<T> out;
    for (const std::string& part : parts) AppendDecoded(part, out);
    return out;
  }

  uint64_t count() const {
    uint64_t total = 0;
    Run("count", internal::RefOf<&internal::CountSink<T>::Run>(), std::string(), {},
        [&](uint32_t, std::string&& bytes) {
          auto n = DecodeFromString<uint64_t>(bytes);
          if (!n.ok()) return n.status();
          total += *n;
          return Status::Ok();
        });
    return total;
  }

  // Folds all records with f(T, T) -> T. Throws JobFailed on an empty RDD.
  template <typename F>
  T reduce(F f) const {
    internal::CheckUserFunction<F>();
    std::vector<std::optional<T>> parts(node_->num_partitions);
    Run("reduce", internal::RefOf<&internal::ReduceSink<T, F>::Run>(), internal::CaptureBytes(f),
        {}, [&](uint32_t p, std::string&& bytes) {
          auto v = DecodeFromString<std::optional<T>>(bytes);
          if (!v.ok()) return v.status();
          parts[p] = std::move(*v);
          return Status::Ok();
        });
    std::optional<T> acc;
    for (auto& part : parts) {
      if (!part) continue;
      acc = acc ? T(f(std::move(*acc), std::move(*part))) : std::move(*part);
    }
    if (!acc) throw JobFailed(FailedPreconditionError("reduce of an empty RDD"));
    return std::move(*acc);
  }

  // The first n records, in partition order. Scans one partition first and
  // widens the scan only while more records are needed.
  std::vector<T> take(uint64_t n) const {
    std::vector<T> out;
    uint32_t next = 0;
    uint32_t batch = 1;
    const uint32_t total = node_->num_partitions;
    while (out.size() < n && next < total) {
      std::vector<uint32_t> parts;
      for (uint32_t p = next; p < total && parts.size() < batch; ++p) parts.push_back(p);
      std::vector<std::string> results(parts.size());
      const uint64_t want = n - out.size();
      Run("take", internal::RefOf<&internal::TakeSink<T>::Run>(), EncodeToString(want), parts,
          [&](uint32_t p, std::string&& bytes) {
            results[p - next] = std::move(bytes);
            return Status::Ok();
          });
      for (const std::string& r : results) {
        AppendDecoded(r, out);
        if (out.size() >= n) break;
      }
      next += static_cast<uint32_t>(parts.size());
      batch *= 4;
    }
    if (out.size() > n) out.resize(n);
    return out;
  }

  // For pair records: the number of records per key.
  auto countByKey() const {
    using K = typename internal::PairTraits<T>::Key;
    std::unordered_map<K, int64_t, StableHasher<K>> counts;
    auto pairs = mapValues([](const auto&) {
                   return int64_t{1};
                 }).reduceByKey([](int64_t a, int64_t b) {
                     return a + b;
                   }).collect();
    for (auto& [k, c] : pairs) counts.emplace(std::move(k), c);
    return counts;
  }

  // Writes one text file per partition, part-00000 and on, into `dir`,
  // which must not exist yet. Each record is one line (pairs and tuples as
  // tab-separated fields). A _SUCCESS file marks a complete output.
  // If the job fails, the directory is removed again: no part file of a
  // failed job is left behind. `dir` may be a plain path or a URI
  // (file:///data/out).
  void saveAsTextFile(const std::string& dir) const {
    const std::string out = internal::PrepareTextOutput(dir);
    try {
      Run("saveAsTextFile", internal::RefOf<&internal::SaveTextSink<T>::Run>(), EncodeToString(out),
          {}, [](uint32_t, std::string&&) { return Status::Ok(); });
      internal::CommitTextOutput(out, getNumPartitions());
    } catch (...) {
      internal::AbortTextOutput(out);
      throw;
    }
  }

 private:
  template <typename U>
  friend class RDD;

  std::shared_ptr<internal::Node> NewNode(const char* name) const {
    auto node = std::make_shared<internal::Node>();
    node->id = ctx_->runner().NewNodeId();
    node->name = name;
    return node;
  }

  template <typename U, typename Step>
  RDD<U> Pipe(const char* name, Step step) const {
    auto node = NewNode(name);
    node->run = internal::RefOf<&internal::PipeOp<T, U, Step>::Run>();
    node->capture = internal::CaptureBytes(step.f, &node->retained);
    node->parents = {node_};
    node->num_partitions = node_->num_partitions;
    return RDD<U>(ctx_, std::move(node));
  }

  template <typename U>
  RDD<U> Shuffled(const char* name, internal::FnRef write, std::string write_capture,
                  internal::FnRef read, std::string read_capture, uint32_t num_partitions,
                  internal::Retained retained = {}) const {
    auto dep = std::make_shared<internal::ShuffleDependency>();
    dep->shuffle_id = ctx_->runner().NewShuffleId();
    dep->lease = ctx_->runner().LeaseShuffle(dep->shuffle_id);
    dep->map_side = node_;
    dep->num_reducers = num_partitions > 0 ? num_partitions : DefaultReducers();
    dep->write = write;
    dep->capture = std::move(write_capture);
    auto node = NewNode(name);
    node->run = read;
    node->capture = std::move(read_capture);
    node->retained = std::move(retained);
    node->shuffle = dep;
    node->num_partitions = dep->num_reducers;
    return RDD<U>(ctx_, std::move(node));
  }

  uint32_t DefaultReducers() const {
    const std::string conf = ctx_->getConf("ember.default.parallelism");
    if (!conf.empty()) return static_cast<uint32_t>(std::max(1L, std::stol(conf)));
    return std::max<uint32_t>(1, node_->num_partitions);
  }

  template <typename Fn>
  void Run(const char* action, internal::FnRef run, std::string capture,
           const std::vector<uint32_t>& partitions, Fn&& on_result) const {
    internal::ResultSpec spec{action, run, std::move(capture)};
    Status st = ctx_->runner().RunJob(node_, spec, partitions, on_result);
    if (!st.ok()) throw JobFailed(st);
  }

  static void AppendDecoded(std::string_view bytes, std::vector<T>& out) {
    RecordReader reader(bytes);
    while (!reader.AtEnd()) {
      T value{};  // value-initialized: Decode may fail before writing it
      Status st = Decode(reader, value);
      if (!st.ok()) throw JobFailed(st.WithContext("decoding a task result"));
      out.push_back(std::move(value));
    }
  }

  Context* ctx_;
  std::shared_ptr<const internal::Node> node_;
};

// ------------------------------------------------------------ Context's ---

template <typename T>
RDD<T> Context::parallelize(std::vector<T> data, uint32_t num_slices) {
  static_assert(Encodable<T>, "Ember: parallelize needs encodable records");
  static_assert(OwnsBytes<T>,
                "Ember: parallelize needs records that own their bytes: use std::string, not "
                "std::string_view");
  const uint32_t slices = num_slices > 0 ? num_slices : defaultParallelism();
  // Slices are encoded once, here; each task receives only its own.
  auto encoded = std::make_shared<std::vector<std::string>>(slices);
  const size_t n = data.size();
  for (uint32_t s = 0; s < slices; ++s) {
    const size_t begin = n * s / slices;
    const size_t end = n * (s + 1) / slices;
    RecordWriter writer((*encoded)[s]);
    for (size_t i = begin; i < end; ++i) Encode(writer, data[i]);
  }
  auto node = std::make_shared<internal::Node>();
  node->id = runner_->NewNodeId();
  node->name = "parallelize";
  node->run = internal::RefOf<&internal::DecodeSourceOp<T>::Run>();
  node->num_partitions = slices;
  node->payload = [encoded](uint32_t p) { return (*encoded)[p]; };
  return RDD<T>(this, std::move(node));
}

template <typename T>
Broadcast<T> Context::broadcast(T value) {
  static_assert(Encodable<T>, "Ember: broadcast values must be encodable");
  static_assert(
      OwnsBytes<T>,
      "Ember: broadcast values must own their bytes: use std::string, not std::string_view");
  const uint64_t id = runner_->NewBroadcastId();
  std::string encoded = EncodeToString(value);
  runner_->RegisterBroadcast(id, std::move(encoded), std::make_shared<T>(std::move(value)));
  return Broadcast<T>(id, runner_->LeaseBroadcast(id));
}

}  // namespace ember
