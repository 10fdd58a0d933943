// cogroup, and the joins built on it: for each key, the values of both
// sides. Each side is either shuffled by key into the cogroup's partitions
// or, when it is already partitioned that way (the output of a reduceByKey
// with as many partitions, say), read as a narrow parent in the same stage.
// Both sides travel as one record type, the key with a Tagged value, so
// that the node's parents and shuffles all carry the same records.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/core/external_combiner.h"
#include "ember/core/reducer_blocks.h"
#include "ember/function.h"
#include "ember/ops/records.h"
#include "ember/record.h"
#include "ember/task.h"

namespace ember::internal {

// A value of one side of a cogroup: side 0 carries `left`, side 1 `right`.
template <typename V, typename W>
struct Tagged {
  uint8_t side = 0;
  V left{};
  W right{};
};

template <typename V, typename W>
using CoGrouped = std::pair<std::vector<V>, std::vector<W>>;

// Makes a side's (key, value) a (key, Tagged) of side kSide.
template <typename K, typename V, typename W, int kSide>
struct TagSide {
  using Value = std::conditional_t<kSide == 0, V, W>;
  std::pair<K, Tagged<V, W>> operator()(std::pair<K, Value>&& kv) const {
    std::pair<K, Tagged<V, W>> out(std::move(kv.first), Tagged<V, W>{});
    out.second.side = kSide;
    if constexpr (kSide == 0) {
      out.second.left = std::move(kv.second);
    } else {
      out.second.right = std::move(kv.second);
    }
    return out;
  }
};

// The joins, as a step over cogroup's output: every pair of a key's values,
// and with kLeftOuter (kRightOuter) the left (right) values of a key the
// other side lacks, paired with nullopt.
template <typename K, typename V, typename W, bool kLeftOuter, bool kRightOuter>
struct JoinStep {
  using Fn = Unit;
  using LeftValue = std::conditional_t<kRightOuter, std::optional<V>, V>;
  using RightValue = std::conditional_t<kLeftOuter, std::optional<W>, W>;
  using Out = std::pair<K, std::pair<LeftValue, RightValue>>;
  Unit f;
  void Apply(std::pair<K, CoGrouped<V, W>>& group, Consumer<Out>& down) {
    const K& key = group.first;
    auto& [vs, ws] = group.second;
    if (!vs.empty() && !ws.empty()) {
      for (const V& v : vs) {
        for (const W& w : ws) {
          Out out(key, std::pair<LeftValue, RightValue>(LeftValue(v), RightValue(w)));
          down.Push(out);
        }
      }
      return;
    }
    if constexpr (kLeftOuter) {
      for (V& v : vs) {
        Out out(key, std::pair<LeftValue, RightValue>(LeftValue(std::move(v)), std::nullopt));
        down.Push(out);
      }
    }
    if constexpr (kRightOuter) {
      for (W& w : ws) {
        Out out(key, std::pair<LeftValue, RightValue>(std::nullopt, RightValue(std::move(w))));
        down.Push(out);
      }
    }
  }
};

template <typename K, typename V, typename W>
struct CoGroupOp {
  using In = std::pair<K, Tagged<V, W>>;
  using Out = std::pair<K, CoGrouped<V, W>>;
  // Each side's values of a key gathered in the order they came.
  struct CoGroupAgg {
    static constexpr bool kGrows = true;
    CoGrouped<V, W> Create(Tagged<V, W>&& t) { return Merge(CoGrouped<V, W>(), std::move(t)); }
    CoGrouped<V, W> Merge(CoGrouped<V, W>&& group, Tagged<V, W>&& t) {
      if (t.side == 0) {
        group.first.push_back(std::move(t.left));
      } else {
        group.second.push_back(std::move(t.right));
      }
      return std::move(group);
    }
    CoGrouped<V, W> MergeCombiners(CoGrouped<V, W>&& a, CoGrouped<V, W>&& b) {
      Append(a.first, b.first);
      Append(a.second, b.second);
      return std::move(a);
    }
    template <typename T>
    static void Append(std::vector<T>& to, std::vector<T>& from) {
      to.insert(to.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
    }
  };
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, MixedReadSignature<Out, In>>::value;
    auto& down = As<Out>(out);
    if (node.parents.size() + node.shuffles.size() != 2) {
      Fail(InvalidArgumentError("cogroup node " + std::to_string(node.index) + " has " +
                                std::to_string(node.parents.size()) + " parents and " +
                                std::to_string(node.shuffles.size()) +
                                " shuffles; it reads two sides"));
    }
    class Grouper final : public Consumer<In> {
     public:
      Grouper(TaskContext& tc, CoGroupAgg& agg) : tc_(tc), groups(tc, agg) {}
      void Push(In& kv) override {
        ++tc_.counters().records_in;
        groups.Add(kv.first, kv.second);
      }

     private:
      TaskContext& tc_;

     public:
      ExternalCombiner<K, CoGrouped<V, W>, CoGroupAgg> groups;
    };
    CoGroupAgg agg;
    Grouper grouper(tc, agg);
    for (size_t slot = 0; slot < node.parents.size(); ++slot) {
      tc.RunParent(node, slot, partition, grouper);
    }
    for (size_t slot = 0; slot < node.shuffles.size(); ++slot) {
      tc.ReadShuffle(node.Shuffle(slot), partition, [&](std::string_view block) {
        DecodeBlock<In>(block, [&](In& kv) { grouper.Push(kv); });
      });
    }
    grouper.groups.Drain([&](Out& kv) { down.Push(kv); });
  }
};

}  // namespace ember::internal

namespace ember {
template <typename V, typename W>
struct Codec<internal::Tagged<V, W>> {
  static void Encode(RecordWriter& w, const internal::Tagged<V, W>& t) {
    ember::Encode(w, t.side);
    if (t.side == 0) {
      ember::Encode(w, t.left);
    } else {
      ember::Encode(w, t.right);
    }
  }
  static Status Decode(RecordReader& r, internal::Tagged<V, W>& t) {
    RETURN_IF_ERROR(ember::Decode(r, t.side));
    if (t.side > 1) {
      return DataLossError("cogroup record of side " + std::to_string(t.side) + ", not 0 or 1");
    }
    return t.side == 0 ? ember::Decode(r, t.left) : ember::Decode(r, t.right);
  }
};
}  // namespace ember
