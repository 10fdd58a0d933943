// reduceByKey, combineByKey, aggregateByKey and foldByKey: values combined
// per key within each map task through an aggregator, then the combiners
// of all map tasks merged on the read side.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "ember/core/combine_table.h"
#include "ember/core/external_combiner.h"
#include "ember/core/reducer_blocks.h"
#include "ember/core/spill.h"
#include "ember/function.h"
#include "ember/task.h"

namespace ember::internal {

// The aggregators of the by-key operations. Each is built from the capture
// bytes the driver encoded, and says how a key's first value starts its
// combiner C, how further values join it, and how combiners of several map
// tasks merge:
//   C Create(V&&);  C Merge(C&&, V&&);  C MergeCombiners(C&&, C&&)

// reduceByKey: C is V, and every step is f.
template <typename V, typename F>
struct ReduceAgg {
  using Value = V;
  using Combiner = V;
  explicit ReduceAgg(std::string_view capture) : f(capture) {}
  static std::string Capture(const F& fn, Retained* retained) { return CaptureBytes(fn, retained); }
  V Create(V&& v) { return std::move(v); }
  V Merge(V&& c, V&& v) { return f.get()(std::move(c), std::move(v)); }
  V MergeCombiners(V&& a, V&& b) { return f.get()(std::move(a), std::move(b)); }
  CapturedFn<F> f;
};

// The three functions' capture bytes, encoded together.
inline std::tuple<std::string, std::string, std::string> DecodeCaptures(std::string_view bytes,
                                                                        const char* op) {
  auto parts = DecodeFromString<std::tuple<std::string, std::string, std::string>>(bytes);
  if (!parts.ok()) Fail(parts.status().WithContext(std::string(op) + ": bad function state"));
  return std::move(*parts);
}

// combineByKey: createCombiner, mergeValue, mergeCombiners.
template <typename V, typename C, typename Create_, typename MergeValue, typename MergeCombiners_>
struct FunctionsAgg {
  using Value = V;
  using Combiner = C;
  explicit FunctionsAgg(std::string_view capture)
      : FunctionsAgg(DecodeCaptures(capture, "combineByKey")) {}
  static std::string Capture(const Create_& create, const MergeValue& merge,
                             const MergeCombiners_& merge_combiners, Retained* retained) {
    return EncodeToString(std::tuple<std::string, std::string, std::string>(
        CaptureBytes(create, retained), CaptureBytes(merge, retained),
        CaptureBytes(merge_combiners, retained)));
  }
  C Create(V&& v) { return create.get()(std::move(v)); }
  C Merge(C&& c, V&& v) { return merge.get()(std::move(c), std::move(v)); }
  C MergeCombiners(C&& a, C&& b) { return merge_combiners.get()(std::move(a), std::move(b)); }
  CapturedFn<Create_> create;
  CapturedFn<MergeValue> merge;
  CapturedFn<MergeCombiners_> merge_combiners;

 private:
  explicit FunctionsAgg(const std::tuple<std::string, std::string, std::string>& parts)
      : create(std::get<0>(parts)),
        merge(std::get<1>(parts)),
        merge_combiners(std::get<2>(parts)) {}
};

// aggregateByKey and foldByKey: a key's combiner starts from a copy of the
// zero value, values join it with seq, combiners merge with comb.
template <typename V, typename U, typename Seq, typename Comb>
struct ZeroAgg {
  using Value = V;
  using Combiner = U;
  explicit ZeroAgg(std::string_view capture) : ZeroAgg(DecodeCaptures(capture, "aggregateByKey")) {}
  static std::string Capture(const U& zero, const Seq& seq, const Comb& comb, Retained* retained) {
    return EncodeToString(std::tuple<std::string, std::string, std::string>(
        EncodeToString(zero), CaptureBytes(seq, retained), CaptureBytes(comb, retained)));
  }
  U Create(V&& v) { return seq.get()(U(zero), std::move(v)); }
  U Merge(U&& c, V&& v) { return seq.get()(std::move(c), std::move(v)); }
  U MergeCombiners(U&& a, U&& b) { return comb.get()(std::move(a), std::move(b)); }
  U zero{};
  CapturedFn<Seq> seq;
  CapturedFn<Comb> comb;

 private:
  explicit ZeroAgg(const std::tuple<std::string, std::string, std::string>& parts)
      : seq(std::get<1>(parts)), comb(std::get<2>(parts)) {
    auto decoded = DecodeFromString<U>(std::get<0>(parts));
    if (!decoded.ok()) Fail(decoded.status().WithContext("aggregateByKey: bad zero value"));
    zero = std::move(*decoded);
  }
};

// The read side's aggregator: what arrives are combiners of map tasks.
template <typename Agg>
struct MergeCombinersOf {
  using C = typename Agg::Combiner;
  Agg& agg;
  C Create(C&& c) { return std::move(c); }
  C Merge(C&& a, C&& b) { return agg.MergeCombiners(std::move(a), std::move(b)); }
  C MergeCombiners(C&& a, C&& b) { return agg.MergeCombiners(std::move(a), std::move(b)); }
};

// Map side: combine within the task, then partition by key. A table that
// outgrows the task's share of the memory budget is written out as it is,
// partly combined, and a new one started: the read side merges combiners
// anyway, so this costs shuffle bytes, never correctness.
template <typename K, typename Agg>
struct AggregateWriteOp {
  using V = typename Agg::Value;
  using C = typename Agg::Combiner;
  static void Write(TaskContext& tc, const NodeView& top, uint32_t partition,
                    std::string_view capture, uint32_t reducers) {
    (void)Registered<&Write, WriterSignature<std::pair<K, V>>>::value;
    class Combiner final : public Consumer<std::pair<K, V>> {
     public:
      Combiner(TaskContext& tc, Agg& agg, uint32_t reducers)
          : batched_(agg), claim_(tc), blocks_(tc, reducers), reducers_(reducers) {}
      void Push(std::pair<K, V>& kv) override {
        batched_.Add(kv);
        const uint64_t held = batched_.table().bytes();
        if (held > claim_.claimed() && !claim_.Hold(held)) {
          WriteTable();
          claim_.Release();
        }
      }
      void Finish() {
        WriteTable();
        blocks_.Flush();
      }

     private:
      void WriteTable() {
        batched_.Flush();
        batched_.table().Drain(
            [&](std::pair<K, C>& kv) { blocks_.Add(ReducerOf(kv.first, reducers_), kv); });
      }
      BatchedCombiner<K, V, C, Agg> batched_;
      MemoryClaim claim_;
      ReducerBlocks<std::pair<K, C>> blocks_;
      uint32_t reducers_;
    };
    Agg agg(capture);
    Combiner combiner(tc, agg, reducers);
    tc.RunNode(top.index, partition, combiner);
    combiner.Finish();
  }
};

// Read side: merge the combiners of every map task.
template <typename K, typename Agg>
struct AggregateReadOp {
  using C = typename Agg::Combiner;
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, ShuffleReadSignature<std::pair<K, C>>>::value;
    Agg agg(node.capture);
    MergeCombinersOf<Agg> merge{agg};
    auto& down = As<std::pair<K, C>>(out);
    ExternalCombiner<K, C, MergeCombinersOf<Agg>> table(tc, merge);
    tc.ReadShuffle(node.Shuffle(0), partition, [&](std::string_view block) {
      DecodeBlock<std::pair<K, C>>(block, [&](std::pair<K, C>& kv) {
        ++tc.counters().records_in;
        table.Add(kv.first, kv.second);
      });
    });
    table.Drain([&](std::pair<K, C>& kv) { down.Push(kv); });
  }
};

// Without a shuffle: the parent is already partitioned by key the same way,
// so each key's records are all in this partition.
template <typename K, typename Agg>
struct AggregateNarrowOp {
  using V = typename Agg::Value;
  using C = typename Agg::Combiner;
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<std::pair<K, C>, std::pair<K, V>>>::value;
    Agg agg(node.capture);
    auto& down = As<std::pair<K, C>>(out);
    CombiningConsumer<K, V, C, Agg> combiner(tc, agg);
    tc.RunParent(node, 0, partition, combiner);
    combiner.table.Drain([&](std::pair<K, C>& kv) { down.Push(kv); });
  }
};

}  // namespace ember::internal
