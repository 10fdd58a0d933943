// Combining by key within the memory budget: the hash table of
// combine_table.h, which spills to disk when it outgrows the task's share.
//
// A spill moves the table's entries out ordered by key hash and writes them
// as a run. At the end the runs and what is left in the table are merged by
// hash: the combiners of one key, from every run, meet there and are merged
// with the aggregator's MergeCombiners, oldest run first. Only one hash's
// entries are held at a time while merging, so a table of any size ends
// within the budget; what one key gathers (groupByKey's values of a key)
// must still fit.
//
// Thread-safety: one per task thread.
#pragma once

#include <cstdint>
#include <iterator>
#include <memory>
#include <queue>
#include <utility>
#include <vector>

#include "ember/core/combine_table.h"
#include "ember/core/spill.h"
#include "ember/task.h"

namespace ember::internal {

// Agg: C Create(V&&); C Merge(C&&, V&&); C MergeCombiners(C&&, C&&).
template <typename K, typename C, typename Agg>
class ExternalCombiner {
 public:
  ExternalCombiner(TaskContext& tc, Agg& agg) : tc_(tc), agg_(agg), claim_(tc) {}

  // Combines (key, value); may move from both.
  template <typename V>
  void Add(K& key, V& value) {
    table_.CombineWith(key, value, CombineTable<K, C>::Hash(key), agg_);
    const uint64_t held = table_.bytes();
    if (held > claim_.claimed() && !claim_.Hold(held)) Spill();
  }

  // Calls fn(std::pair<K, C>&) once per key; fn may move from it.
  template <typename Fn>
  void Drain(Fn&& fn) {
    if (runs_.empty()) {
      table_.Drain(fn);
      return;
    }
    Merge(fn);
  }

 private:
  using Entry = std::pair<K, C>;

  void Spill() {
    RunWriter<Entry> run(tc_);
    for (Entry& e : table_.TakeSortedByHash()) run.Add(e);
    runs_.push_back(std::make_unique<RunReader<Entry>>(run.Finish()));
    claim_.Release();
  }

  // One input of the merge: a run, or the table's last entries.
  struct Source {
    Entry entry;
    uint64_t hash = 0;
  };

  template <typename Fn>
  void Merge(Fn& fn) {
    std::vector<Entry> rest = table_.TakeSortedByHash();
    size_t rest_next = 0;
    const size_t n = runs_.size() + 1;  // the table's entries are the last source
    std::vector<Source> heads(n);
    auto advance = [&](size_t s) {
      if (s < runs_.size()) {
        if (!runs_[s]->Next(heads[s].entry)) return false;
      } else {
        if (rest_next == rest.size()) return false;
        heads[s].entry = std::move(rest[rest_next++]);
      }
      heads[s].hash = CombineTable<K, C>::Hash(heads[s].entry.first);
      return true;
    };
    // Smallest hash first; on a tie the older source, so that a key's
    // combiners merge in the order they were made.
    auto later = [&](size_t a, size_t b) {
      return heads[a].hash != heads[b].hash ? heads[a].hash > heads[b].hash : a > b;
    };
    std::priority_queue<size_t, std::vector<size_t>, decltype(later)> queue(later);
    for (size_t s = 0; s < n; ++s) {
      if (advance(s)) queue.push(s);
    }
    std::vector<Entry> same_hash;  // distinct keys of the current hash
    uint64_t merged = 0;
    while (!queue.empty()) {
      const uint64_t hash = heads[queue.top()].hash;
      same_hash.clear();
      while (!queue.empty() && heads[queue.top()].hash == hash) {
        const size_t s = queue.top();
        queue.pop();
        Entry& e = heads[s].entry;
        bool found = false;
        for (Entry& have : same_hash) {
          if (have.first == e.first) {
            have.second = agg_.MergeCombiners(std::move(have.second), std::move(e.second));
            found = true;
            break;
          }
        }
        if (!found) same_hash.push_back(std::move(e));
        if (advance(s)) queue.push(s);
      }
      for (Entry& e : same_hash) {
        if (++merged % kCancelCheckEvery == 0) tc_.CheckCancelled();
        fn(e);
      }
    }
    runs_.clear();
    claim_.Release();
  }

  TaskContext& tc_;
  Agg& agg_;
  MemoryClaim claim_;
  CombineTable<K, C> table_;
  std::vector<std::unique_ptr<RunReader<Entry>>> runs_;
};

// Combines what a node pushes; `table` holds the result.
template <typename K, typename V, typename C, typename Agg>
class CombiningConsumer final : public Consumer<std::pair<K, V>> {
 public:
  CombiningConsumer(TaskContext& tc, Agg& agg) : table(tc, agg) {}
  void Push(std::pair<K, V>& kv) override { table.Add(kv.first, kv.second); }
  ExternalCombiner<K, C, Agg> table;
};

// groupByKey as an aggregation: a key's combiner is the vector of its
// values, in the order they came.
template <typename V>
struct GatherAgg {
  static constexpr bool kGrows = true;
  std::vector<V> Create(V&& v) {
    std::vector<V> values;
    values.push_back(std::move(v));
    return values;
  }
  std::vector<V> Merge(std::vector<V>&& values, V&& v) {
    values.push_back(std::move(v));
    return std::move(values);
  }
  std::vector<V> MergeCombiners(std::vector<V>&& a, std::vector<V>&& b) {
    if (a.empty()) return std::move(b);
    a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
    return std::move(a);
  }
};

}  // namespace ember::internal
