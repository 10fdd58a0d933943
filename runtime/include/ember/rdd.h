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

// Where persist keeps partitions: in the executor's memory, in files in its
// local directory, or in memory and, past the executor's budget, on disk
// (Ember has no memory budget yet: kMemoryAndDisk keeps them in memory).
enum class StorageLevel : uint8_t { kMemory = 0, kDisk = 1, kMemoryAndDisk = 2 };

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
    return Pipe<T>("filter", internal::FilterStep<T, F>{f}, kKeepsPartitioning);
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

  // f(partition index, std::vector<T>&&) -> a container of U, once per
  // partition.
  template <typename F>
  auto mapPartitionsWithIndex(F f) const {
    internal::CheckUserFunction<F>();
    using R = std::decay_t<std::invoke_result_t<F&, uint32_t, std::vector<T>&&>>;
    using U = std::decay_t<typename R::value_type>;
    std::string capture;
    internal::Retained retained;
    capture = internal::CaptureBytes(f, &retained);
    return Narrow<U>("mapPartitionsWithIndex",
                     internal::RefOf<&internal::MapPartitionsOp<T, U, F, true>::Run>(),
                     std::move(capture), std::move(retained));
  }

  // (record, index): 0, 1, ... in partition order. Counts every partition
  // first, in a job run at once (one partition needs none).
  RDD<std::pair<T, int64_t>> zipWithIndex() const {
    std::vector<int64_t> offsets(node_->num_partitions, 0);
    if (node_->num_partitions > 1) {
      std::vector<int64_t> counts(node_->num_partitions, 0);
      Run("zipWithIndex (counting)", internal::RefOf<&internal::CountSink<T>::Run>(), std::string(),
          {}, [&](uint32_t p, std::string&& bytes) {
            auto n = DecodeFromString<uint64_t>(bytes);
            if (!n.ok()) return n.status();
            counts[p] = static_cast<int64_t>(*n);
            return Status::Ok();
          });
      for (size_t p = 1; p < counts.size(); ++p) offsets[p] = offsets[p - 1] + counts[p - 1];
    }
    return Narrow<std::pair<T, int64_t>>("zipWithIndex",
                                         internal::RefOf<&internal::ZipWithIdOp<T, false>::Run>(),
                                         EncodeToString(offsets));
  }

  // (record, id), ids unique but not consecutive: the i-th record of
  // partition p gets i * partitions + p. No job runs.
  RDD<std::pair<T, int64_t>> zipWithUniqueId() const {
    return Narrow<std::pair<T, int64_t>>(
        "zipWithUniqueId", internal::RefOf<&internal::ZipWithIdOp<T, true>::Run>(), std::string());
  }

  // A random sample: each record kept with probability `fraction`, or, with
  // replacement, kept a Poisson(fraction) number of times. The same seed
  // gives the same sample.
  RDD<T> sample(bool with_replacement, double fraction, uint64_t seed = 0x5A3F1E) const {
    if (!(fraction >= 0) || (!with_replacement && fraction > 1)) {
      throw InvalidInput(InvalidArgumentError(
          "sample: fraction must be in [0, 1] without replacement and >= 0 with it, not " +
          std::to_string(fraction)));
    }
    return Narrow<T>("sample", internal::RefOf<&internal::SampleOp<T>::Run>(),
                     EncodeToString(internal::SampleCapture(with_replacement, fraction, seed)));
  }

  // At most num_partitions partitions, each the concatenation of
  // neighbouring ones, without a shuffle; with shuffle = true, exactly
  // num_partitions through repartition.
  RDD<T> coalesce(uint32_t num_partitions, bool shuffle = false) const {
    if (num_partitions == 0) {
      throw InvalidInput(InvalidArgumentError("coalesce: the number of partitions must be > 0"));
    }
    if (shuffle) return repartition(num_partitions);
    if (num_partitions >= node_->num_partitions) return *this;
    auto node = NewNode("coalesce");
    node->run = internal::CoalesceRef();
    node->parents = {node_};
    node->num_partitions = num_partitions;
    return RDD<T>(ctx_, std::move(node));
  }

  // For pair records: f(V) -> W on the value, keeping the key.
  template <typename F>
  auto mapValues(F f) const {
    internal::CheckUserFunction<F>();
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    using W = std::decay_t<std::invoke_result_t<F&, V&&>>;
    return Pipe<std::pair<K, W>>("mapValues", internal::MapValuesStep<K, V, W, F>{f},
                                 kKeepsPartitioning);
  }

  // For pair records: f(V) -> a container of W; each w paired with the key.
  template <typename F>
  auto flatMapValues(F f) const {
    internal::CheckUserFunction<F>();
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    using R = std::decay_t<std::invoke_result_t<F&, V&&>>;
    using W = std::decay_t<typename R::value_type>;
    return Pipe<std::pair<K, W>>("flatMapValues", internal::FlatMapValuesStep<K, V, W, F>{f},
                                 kKeepsPartitioning);
  }

  // For pair records: the keys, and the values.
  auto keys() const {
    using K = typename internal::PairTraits<T>::Key;
    return map([](T kv) -> K { return std::move(kv.first); });
  }
  auto values() const {
    using V = typename internal::PairTraits<T>::Value;
    return map([](T kv) -> V { return std::move(kv.second); });
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
    using Agg = internal::ReduceAgg<V, F>;
    internal::Retained retained;
    std::string capture = Agg::Capture(f, &retained);
    return Aggregated<K, Agg>("reduceByKey", std::move(capture), num_partitions,
                              std::move(retained));
  }

  // For pair records: a combiner C per key, made by create(V) from the key's
  // first value, merge_value(C, V) -> C adding the others, and
  // merge_combiners(C, C) -> C joining the combiners of several map tasks.
  template <typename Create, typename MergeValue, typename MergeCombiners>
  auto combineByKey(Create create, MergeValue merge_value, MergeCombiners merge_combiners,
                    uint32_t num_partitions = 0) const {
    internal::CheckUserFunction<Create>();
    internal::CheckUserFunction<MergeValue>();
    internal::CheckUserFunction<MergeCombiners>();
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    using C = std::decay_t<std::invoke_result_t<Create&, V&&>>;
    static_assert(std::is_invocable_r_v<C, MergeValue&, C&&, V&&>,
                  "Ember: combineByKey's merge_value must take (combiner, value) and return the "
                  "combiner type create returns");
    static_assert(std::is_invocable_r_v<C, MergeCombiners&, C&&, C&&>,
                  "Ember: combineByKey's merge_combiners must take two combiners and return one");
    static_assert(Encodable<C> && OwnsBytes<C>,
                  "Ember: combineByKey's combiner type must be encodable and own its bytes, like "
                  "a record");
    using Agg = internal::FunctionsAgg<V, C, Create, MergeValue, MergeCombiners>;
    internal::Retained retained;
    std::string capture = Agg::Capture(create, merge_value, merge_combiners, &retained);
    return Aggregated<K, Agg>("combineByKey", std::move(capture), num_partitions,
                              std::move(retained));
  }

  // For pair records: per key, a copy of `zero` folded with seq(U, V) -> U
  // over the key's values in each map task, the results merged with
  // comb(U, U) -> U.
  template <typename U, typename Seq, typename Comb>
  auto aggregateByKey(U zero, Seq seq, Comb comb, uint32_t num_partitions = 0) const {
    internal::CheckUserFunction<Seq>();
    internal::CheckUserFunction<Comb>();
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    static_assert(Encodable<U> && OwnsBytes<U>,
                  "Ember: aggregateByKey's zero value must be encodable and own its bytes, like a "
                  "record");
    static_assert(std::is_invocable_r_v<U, Seq&, U&&, V&&>,
                  "Ember: aggregateByKey's seq must take (accumulator, value) and return the "
                  "accumulator");
    static_assert(std::is_invocable_r_v<U, Comb&, U&&, U&&>,
                  "Ember: aggregateByKey's comb must take two accumulators and return one");
    using Agg = internal::ZeroAgg<V, U, Seq, Comb>;
    internal::Retained retained;
    std::string capture = Agg::Capture(zero, seq, comb, &retained);
    return Aggregated<K, Agg>("aggregateByKey", std::move(capture), num_partitions,
                              std::move(retained));
  }

  // For pair records: aggregateByKey with f as both seq and comb.
  template <typename Z, typename F>
  RDD<T> foldByKey(Z zero, F f, uint32_t num_partitions = 0) const {
    using V = typename internal::PairTraits<T>::Value;
    return aggregateByKey(V(std::move(zero)), f, f, num_partitions);
  }

  // For pair records: all values of each key, as (key, vector of values).
  auto groupByKey(uint32_t num_partitions = 0) const {
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    using Out = std::pair<K, std::vector<V>>;
    const uint32_t reducers = Reducers(num_partitions);
    if (PartitionedLike(reducers)) {
      return Narrow<Out>("groupByKey", internal::RefOf<&internal::GroupNarrowOp<K, V>::Run>(),
                         std::string(), {}, kKeepsPartitioning);
    }
    return Shuffled<Out>("groupByKey", internal::RefOf<&internal::HashWriteOp<K, V>::Write>(),
                         std::string(), internal::RefOf<&internal::GroupReadOp<K, V>::Run>(),
                         std::string(), reducers, {}, kHashPartitioned);
  }

  // For pair records: the records hash-partitioned by key into
  // num_partitions partitions, as reduceByKey's output is; a later by-key
  // operation or join with as many partitions then needs no shuffle.
  RDD<T> partitionBy(uint32_t num_partitions) const {
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    if (num_partitions == 0) {
      throw InvalidInput(InvalidArgumentError("partitionBy: the number of partitions must be > 0"));
    }
    if (PartitionedLike(num_partitions)) return *this;
    return Shuffled<T>("partitionBy", internal::RefOf<&internal::HashWriteOp<K, V>::Write>(),
                       std::string(), internal::RefOf<&internal::PlainReadOp<T>::Run>(),
                       std::string(), num_partitions, {}, kHashPartitioned);
  }

  // For pair records: sorted by key, ascending or descending, in the order
  // cmp(a, b) -> bool ("a before b"; operator< unless given). Output
  // partition i holds keys before those of partition i + 1, so collect()
  // returns the records in order. Runs a small job at once to sample the
  // keys and choose the partitions' ranges; with few distinct keys there
  // are fewer partitions than asked (one per range that holds keys).
  template <typename Cmp = internal::Less>
  RDD<T> sortByKey(bool ascending = true, uint32_t num_partitions = 0, Cmp cmp = Cmp{}) const {
    internal::CheckUserFunction<Cmp>();
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    static_assert(std::is_invocable_r_v<bool, Cmp&, const K&, const K&>,
                  "Ember: sortByKey's comparator must take two keys and return whether the first "
                  "comes before the second");
    const uint32_t want =
        num_partitions > 0 ? num_partitions : std::max<uint32_t>(1, node_->num_partitions);
    const bool descending = !ascending;
    internal::Retained retained;
    const std::string order = internal::CaptureBytes(cmp, &retained);
    // About 60 sampled keys per output partition (Spark's RangePartitioner
    // takes 20, times 3 to make up for uneven input partitions).
    const uint64_t inputs = std::max<uint32_t>(1, node_->num_partitions);
    const uint64_t per_input =
        std::min<uint64_t>(uint64_t{1} << 20, (60 * uint64_t{want} + inputs - 1) / inputs);
    std::vector<std::pair<uint64_t, std::vector<K>>> samples(node_->num_partitions);
    Run("sortByKey (sampling)", internal::RefOf<&internal::SampleKeysSink<K, V>::Run>(),
        EncodeToString(std::pair<uint64_t, uint64_t>(per_input, 0x5EED5EED5EEDULL)), {},
        [&](uint32_t p, std::string&& bytes) {
          auto sample = DecodeFromString<std::pair<uint64_t, std::vector<K>>>(bytes);
          if (!sample.ok()) return sample.status().WithContext("sortByKey: a key sample");
          samples[p] = std::move(*sample);
          return Status::Ok();
        });
    std::vector<K> bounds = internal::ChooseRangeBounds<K>(
        std::move(samples), want,
        [&](const K& a, const K& b) { return descending ? cmp(b, a) : cmp(a, b); });
    const uint32_t reducers = static_cast<uint32_t>(bounds.size() + 1);
    return Shuffled<T>(
        "sortByKey", internal::RefOf<&internal::RangeWriteOp<K, V, Cmp>::Write>(),
        EncodeToString(internal::RangeCapture<K>(descending, order, std::move(bounds))),
        internal::RefOf<&internal::SortReadOp<K, V, Cmp>::Run>(),
        EncodeToString(internal::OrderCapture(descending, order)), reducers, std::move(retained));
  }

  // The records sorted by f(record), as sortByKey orders keys.
  template <typename F, typename Cmp = internal::Less>
  RDD<T> sortBy(F f, bool ascending = true, uint32_t num_partitions = 0, Cmp cmp = Cmp{}) const {
    return keyBy(f).sortByKey(ascending, num_partitions, cmp).values();
  }

  // For pair records: hash-partitioned by key into num_partitions, each
  // partition sorted by key (cheaper than a total sort: no sampling).
  template <typename Cmp = internal::Less>
  RDD<T> repartitionAndSortWithinPartitions(uint32_t num_partitions, bool ascending = true,
                                            Cmp cmp = Cmp{}) const {
    internal::CheckUserFunction<Cmp>();
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    if (num_partitions == 0) {
      throw InvalidInput(InvalidArgumentError(
          "repartitionAndSortWithinPartitions: the number of partitions must be > 0"));
    }
    internal::Retained retained;
    const std::string order = internal::CaptureBytes(cmp, &retained);
    return Shuffled<T>("repartitionAndSortWithinPartitions",
                       internal::RefOf<&internal::HashWriteOp<K, V>::Write>(), std::string(),
                       internal::RefOf<&internal::SortReadOp<K, V, Cmp>::Run>(),
                       EncodeToString(internal::OrderCapture(!ascending, order)), num_partitions,
                       std::move(retained), kHashPartitioned);
  }

  // For pair records (K, V) and an RDD of (K, W): for each key of either,
  // (key, (all its V, all its W)). A side already partitioned by key into
  // the cogroup's partitions is read without a shuffle. num_partitions = 0:
  // a side's own partitioning if it has one, else the default parallelism
  // when set, else the larger partition count.
  template <typename Other>
  auto cogroup(const Other& other, uint32_t num_partitions = 0) const {
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    using OtherT = typename Other::value_type;
    static_assert(std::is_same_v<typename internal::PairTraits<OtherT>::Key, K>,
                  "Ember: cogroup and the joins need both RDDs keyed by the same type");
    using W = typename internal::PairTraits<OtherT>::Value;
    using Tag = internal::Tagged<V, W>;
    using In = std::pair<K, Tag>;
    using Out = std::pair<K, internal::CoGrouped<V, W>>;
    uint32_t reducers = num_partitions;
    if (reducers == 0) {
      if (node_->hash_partitioned) {
        reducers = node_->num_partitions;
      } else if (other.node()->hash_partitioned) {
        reducers = other.node()->num_partitions;
      } else {
        const std::string conf = ctx_->getConf("ember.default.parallelism");
        reducers = !conf.empty() ? static_cast<uint32_t>(std::max(1L, std::stol(conf)))
                                 : std::max(node_->num_partitions, other.node()->num_partitions);
      }
    }
    reducers = std::max<uint32_t>(reducers, 1);
    const RDD<In> left = Pipe<In>(
        "cogroup", internal::MapStep<T, In, internal::TagSide<K, V, W, 0>>{}, kKeepsPartitioning);
    const RDD<In> right = other.template Pipe<In>(
        "cogroup", internal::MapStep<OtherT, In, internal::TagSide<K, V, W, 1>>{},
        kKeepsPartitioning);
    auto node = NewNode("cogroup");
    node->run = internal::RefOf<&internal::CoGroupOp<K, V, W>::Run>();
    node->num_partitions = reducers;
    node->hash_partitioned = true;
    for (const RDD<In>* side : {&left, &right}) {
      if (side->PartitionedLike(reducers)) {
        node->parents.push_back(side->node_);
      } else {
        node->shuffles.push_back(side->NewShuffle(
            internal::RefOf<&internal::HashWriteOp<K, Tag>::Write>(), std::string(), reducers));
      }
    }
    return RDD<Out>(ctx_, std::move(node));
  }

  // For pair records: (key, (v, w)) for every v of the key here and w of
  // the key in `other`; keys on one side only are dropped.
  template <typename Other>
  auto join(const Other& other, uint32_t num_partitions = 0) const {
    return JoinOf<kInner>(other, num_partitions, "join");
  }
  // Every key here; (key, (v, nullopt)) when `other` lacks it.
  template <typename Other>
  auto leftOuterJoin(const Other& other, uint32_t num_partitions = 0) const {
    return JoinOf<kLeftOuter>(other, num_partitions, "leftOuterJoin");
  }
  // Every key of `other`; (key, (nullopt, w)) when this RDD lacks it.
  template <typename Other>
  auto rightOuterJoin(const Other& other, uint32_t num_partitions = 0) const {
    return JoinOf<kRightOuter>(other, num_partitions, "rightOuterJoin");
  }
  // Every key of either side, with nullopt for the side that lacks it.
  template <typename Other>
  auto fullOuterJoin(const Other& other, uint32_t num_partitions = 0) const {
    return JoinOf<kFullOuter>(other, num_partitions, "fullOuterJoin");
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

  // The same records, kept by the executors that compute them the first time
  // an action needs them, and read back (on those executors) by every later
  // job instead of recomputing the lineage. A kept partition that is lost
  // with its executor is recomputed from lineage. Use the RDD this returns.
  RDD<T> persist(StorageLevel level = StorageLevel::kMemory) const {
    auto node = NewNode("persist");
    node->cache_id = ctx_->runner().NewCacheId();
    node->run = internal::RefOf<&internal::CacheOp<T>::Run>();
    node->capture =
        EncodeToString(internal::CacheCapture(node->cache_id, static_cast<uint8_t>(level)));
    if (auto lease = ctx_->runner().LeaseCache(node->cache_id)) node->retained.push_back(lease);
    node->parents = {node_};
    node->num_partitions = node_->num_partitions;
    node->hash_partitioned = node_->hash_partitioned;
    return RDD<T>(ctx_, std::move(node));
  }
  RDD<T> cache() const { return persist(StorageLevel::kMemory); }
  // Frees the kept partitions on every executor now (they also go once no
  // RDD can read them). Using the RDD again computes and keeps them anew.
  void unpersist() const {
    if (node_->cache_id != 0) ctx_->runner().Unpersist(node_->cache_id);
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

  // The first record; JobFailed on an empty RDD.
  T first() const {
    std::vector<T> one = take(1);
    if (one.empty()) throw JobFailed(FailedPreconditionError("first of an empty RDD"));
    return std::move(one.front());
  }

  // The n first records in the order cmp(a, b) -> bool (operator< unless
  // given), sorted; top(n) gives the n last, from the last down. Each
  // partition sends back at most n records.
  template <typename Cmp = internal::Less>
  std::vector<T> takeOrdered(uint64_t n, Cmp cmp = Cmp{}) const {
    return Ordered("takeOrdered", n, false, cmp);
  }
  template <typename Cmp = internal::Less>
  std::vector<T> top(uint64_t n, Cmp cmp = Cmp{}) const {
    return Ordered("top", n, true, cmp);
  }

  // Each partition folded into a copy of `zero` with seq(U, T) -> U, the
  // partitions' results then folded into `zero` with comb(U, U) -> U.
  template <typename U, typename Seq, typename Comb>
  U aggregate(U zero, Seq seq, Comb comb) const {
    internal::CheckUserFunction<Seq>();
    internal::CheckUserFunction<Comb>();
    static_assert(Encodable<U> && OwnsBytes<U>,
                  "Ember: aggregate's zero value must be encodable and own its bytes, like a "
                  "record");
    static_assert(std::is_invocable_r_v<U, Seq&, U&&, T&&>,
                  "Ember: aggregate's seq must take (accumulator, record) and return the "
                  "accumulator");
    static_assert(std::is_invocable_r_v<U, Comb&, U&&, U&&>,
                  "Ember: aggregate's comb must take two accumulators and return one");
    std::vector<std::optional<U>> parts(node_->num_partitions);
    Run("aggregate", internal::RefOf<&internal::AggregateSink<T, U, Seq>::Run>(),
        EncodeToString(
            std::pair<std::string, std::string>(EncodeToString(zero), internal::CaptureBytes(seq))),
        {}, [&](uint32_t p, std::string&& bytes) {
          auto v = DecodeFromString<U>(bytes);
          if (!v.ok()) return v.status();
          parts[p] = std::move(*v);
          return Status::Ok();
        });
    U acc = zero;
    for (auto& part : parts) {
      if (part) acc = comb(std::move(acc), std::move(*part));
    }
    return acc;
  }

  // aggregate with f as both functions.
  template <typename F>
  T fold(T zero, F f) const {
    return aggregate(std::move(zero), f, f);
  }

  // How many times each distinct record occurs.
  auto countByValue() const {
    std::unordered_map<T, int64_t, StableHasher<T>> counts;
    auto pairs = map([](T v) {
                   return std::pair<T, int64_t>(std::move(v), 1);
                 }).reduceByKey([](int64_t a, int64_t b) {
                     return a + b;
                   }).collect();
    for (auto& [v, c] : pairs) counts.emplace(std::move(v), c);
    return counts;
  }

  // f(record) for every record, on the executors (for its effects: output
  // written elsewhere; what f returns is dropped).
  template <typename F>
  void foreach (F f) const {
    internal::CheckUserFunction<F>();
    Run("foreach", internal::RefOf<&internal::ForeachSink<T, F>::Run>(), internal::CaptureBytes(f),
        {}, [](uint32_t, std::string&&) { return Status::Ok(); });
  }

  // f(std::vector<T>&&) once per partition, on the executors.
  template <typename F>
  void foreachPartition(F f) const {
    internal::CheckUserFunction<F>();
    Run("foreachPartition", internal::RefOf<&internal::ForeachPartitionSink<T, F>::Run>(),
        internal::CaptureBytes(f), {}, [](uint32_t, std::string&&) { return Status::Ok(); });
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
  void saveAsTextFile(const std::string& dir) const { Save<false>("saveAsTextFile", dir); }

  // As saveAsTextFile, for std::string records written as they are, with
  // nothing between them: fixed-length binary records (binaryRecords reads
  // them back) or bytes already formatted.
  void saveAsBinaryFile(const std::string& dir) const {
    static_assert(std::is_same_v<T, std::string>,
                  "Ember: saveAsBinaryFile writes std::string records' bytes; map the records "
                  "to std::string first");
    Save<true>("saveAsBinaryFile", dir);
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

  // Whether an operation's output keeps its input's hash partitioning by
  // key (mapValues, filter: the keys stay where they were).
  static constexpr bool kKeepsPartitioning = true;
  static constexpr bool kHashPartitioned = true;

  template <typename U, typename Step>
  RDD<U> Pipe(const char* name, Step step, bool keeps_partitioning = false) const {
    auto node = NewNode(name);
    node->run = internal::RefOf<&internal::PipeOp<T, U, Step>::Run>();
    node->capture = internal::CaptureBytes(step.f, &node->retained);
    node->parents = {node_};
    node->num_partitions = node_->num_partitions;
    node->hash_partitioned = keeps_partitioning && node_->hash_partitioned;
    return RDD<U>(ctx_, std::move(node));
  }

  // A node computed from this one's partition of the same index.
  template <typename U>
  RDD<U> Narrow(const char* name, internal::FnRef run, std::string capture,
                internal::Retained retained = {}, bool keeps_partitioning = false) const {
    auto node = NewNode(name);
    node->run = run;
    node->capture = std::move(capture);
    node->retained = std::move(retained);
    node->parents = {node_};
    node->num_partitions = node_->num_partitions;
    node->hash_partitioned = keeps_partitioning && node_->hash_partitioned;
    return RDD<U>(ctx_, std::move(node));
  }

  // This RDD as the map side of a new shuffle into `reducers` partitions.
  std::shared_ptr<const internal::ShuffleDependency> NewShuffle(internal::FnRef write,
                                                                std::string write_capture,
                                                                uint32_t reducers) const {
    auto dep = std::make_shared<internal::ShuffleDependency>();
    dep->shuffle_id = ctx_->runner().NewShuffleId();
    dep->lease = ctx_->runner().LeaseShuffle(dep->shuffle_id);
    dep->map_side = node_;
    dep->num_reducers = reducers;
    dep->write = write;
    dep->capture = std::move(write_capture);
    return dep;
  }

  template <typename U>
  RDD<U> Shuffled(const char* name, internal::FnRef write, std::string write_capture,
                  internal::FnRef read, std::string read_capture, uint32_t num_partitions,
                  internal::Retained retained = {}, bool hash_partitioned = false) const {
    auto dep = NewShuffle(write, std::move(write_capture), Reducers(num_partitions));
    auto node = NewNode(name);
    node->run = read;
    node->capture = std::move(read_capture);
    node->retained = std::move(retained);
    node->num_partitions = dep->num_reducers;
    node->shuffles = {std::move(dep)};
    node->hash_partitioned = hash_partitioned;
    return RDD<U>(ctx_, std::move(node));
  }

  uint32_t Reducers(uint32_t num_partitions) const {
    return num_partitions > 0 ? num_partitions : DefaultReducers();
  }

  // Whether this RDD's records are already where a by-key operation into
  // `reducers` partitions would send them.
  bool PartitionedLike(uint32_t reducers) const {
    return node_->hash_partitioned && node_->num_partitions == reducers;
  }

  // A by-key aggregation through Agg: narrow when the records are already
  // partitioned by key that way, a combining shuffle otherwise.
  template <typename K, typename Agg>
  RDD<std::pair<K, typename Agg::Combiner>> Aggregated(const char* name, std::string capture,
                                                       uint32_t num_partitions,
                                                       internal::Retained retained) const {
    using Out = std::pair<K, typename Agg::Combiner>;
    const uint32_t reducers = Reducers(num_partitions);
    if (PartitionedLike(reducers)) {
      return Narrow<Out>(name, internal::RefOf<&internal::AggregateNarrowOp<K, Agg>::Run>(),
                         std::move(capture), std::move(retained), kKeepsPartitioning);
    }
    std::string read_capture = capture;
    return Shuffled<Out>(name, internal::RefOf<&internal::AggregateWriteOp<K, Agg>::Write>(),
                         std::move(capture),
                         internal::RefOf<&internal::AggregateReadOp<K, Agg>::Run>(),
                         std::move(read_capture), reducers, std::move(retained), kHashPartitioned);
  }

  template <bool kRaw>
  void Save(const char* action, const std::string& dir) const {
    const std::string out = internal::PrepareTextOutput(dir);
    try {
      Run(action, internal::RefOf<&internal::SaveTextSink<T, kRaw>::Run>(), EncodeToString(out), {},
          [](uint32_t, std::string&&) { return Status::Ok(); });
      internal::CommitTextOutput(out, getNumPartitions());
    } catch (...) {
      internal::AbortTextOutput(out);
      throw;
    }
  }

  enum JoinKind { kInner, kLeftOuter, kRightOuter, kFullOuter };
  template <JoinKind kKind, typename Other>
  auto JoinOf(const Other& other, uint32_t num_partitions, const char* name) const {
    using K = typename internal::PairTraits<T>::Key;
    using V = typename internal::PairTraits<T>::Value;
    using W = typename internal::PairTraits<typename Other::value_type>::Value;
    using Step = internal::JoinStep<K, V, W, kKind == kLeftOuter || kKind == kFullOuter,
                                    kKind == kRightOuter || kKind == kFullOuter>;
    auto grouped = cogroup(other, num_partitions);
    return grouped.template Pipe<typename Step::Out>(name, Step{}, kKeepsPartitioning);
  }

  template <typename Cmp>
  std::vector<T> Ordered(const char* action, uint64_t n, bool descending, Cmp& cmp) const {
    internal::CheckUserFunction<Cmp>();
    static_assert(std::is_invocable_r_v<bool, Cmp&, const T&, const T&>,
                  "Ember: the comparator must take two records and return whether the first "
                  "comes before the second");
    std::vector<T> all;
    if (n == 0) return all;
    using Sink = internal::TakeOrderedSink<T, Cmp>;
    Run(action, internal::RefOf<&Sink::Run>(),
        EncodeToString(typename Sink::Capture(n, descending, internal::CaptureBytes(cmp))), {},
        [&](uint32_t, std::string&& bytes) {
          auto part = DecodeFromString<std::vector<T>>(bytes);
          if (!part.ok()) return part.status();
          for (T& v : *part) all.push_back(std::move(v));
          return Status::Ok();
        });
    std::stable_sort(all.begin(), all.end(), [&](const T& a, const T& b) {
      return descending ? static_cast<bool>(cmp(b, a)) : static_cast<bool>(cmp(a, b));
    });
    if (all.size() > n) all.resize(n);
    return all;
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
