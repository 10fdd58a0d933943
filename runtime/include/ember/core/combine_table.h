// The hash table behind the by-key operations (reduceByKey, combineByKey,
// aggregateByKey, groupByKey, cogroup): open addressing, combining each
// key's values through an aggregator.
//
// Thread-safety: one per task thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/core/spill.h"
#include "ember/hash.h"
#include "ember/task.h"

namespace ember::internal {

// The table behind the combining, on both sides of the shuffle.
// Like Spark's AppendOnlyMap it is open addressing rather than a node-based
// std::unordered_map: combining is a lookup per record and the hot cost is
// memory latency, which std::unordered_map pays several times per lookup
// (bucket array, node chain, and, since StableHasher counts as "fast", a
// rehash of every node's key it passes). Here a lookup is one probe of a
// compact slot array, whose slots carry hash bits so that mismatches rarely
// touch the entries, then one entry access. Entries sit densely in insertion
// order, which also makes draining a linear scan.
//
// Slots use the hash's high 32 bits, both as tag and (the top bits) as home
// slot: the low bits are what picks the reducer (StableHash % reducers), so on
// the reduce side they are nearly constant.
//
// What a key's entry holds, and how a value joins it, is the aggregator's:
//   C Create(V&& first_value)      the entry of a new key
//   C Merge(C&& entry, V&& value)  a further value of the key
// Combine(kv, f) is reduceByKey's aggregator, where C is V and both are f.
template <typename F>
struct ReduceAggregator {
  F& f;
  template <typename V>
  V Create(V&& v) {
    return std::move(v);
  }
  template <typename C, typename V>
  C Merge(C&& c, V&& v) {
    return f(std::move(c), std::move(v));
  }
};

// Aggregators whose combiner takes in every value (GatherAgg) say so with
// `static constexpr bool kGrows = true`.
template <typename Agg>
concept CombinerGrows = requires {
  requires Agg::kGrows;
};

template <typename K, typename C>
class CombineTable {
 public:
  static uint64_t Hash(const K& key) { return StableHash(key); }

  // Merges (key, value) into the table through `agg`; the key and value are
  // moved from only when the key is new. `hash` is Hash(key).
  template <typename V, typename Agg>
  void CombineWith(K& key, V& value, uint64_t hash, Agg& agg) {
    const uint32_t tag = TagOf(hash);
    if (entries_.size() >= (slots_.size() >> 1)) Grow();  // load <= 1/2
    for (size_t i = tag >> shift_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.entry == kEmpty) {
        if (entries_.size() >= kMaxEntries) {
          Fail(ResourceExhaustedError("reduceByKey: more than 2^31 keys in one task"));
        }
        entries_.emplace_back(std::move(key), agg.Create(std::move(value)));
        slot = {tag, static_cast<uint32_t>(entries_.size() - 1)};
        entry_bytes_ += ApproxBytes(entries_.back());
        return;
      }
      if (slot.tag == tag) {
        std::pair<K, C>& entry = entries_[slot.entry];
        if (entry.first == key) {
          if constexpr (CombinerGrows<Agg>) {
            // Gathering (groupByKey, cogroup): the value moves in.
            entry_bytes_ += ApproxBytes(value);
            entry.second = agg.Merge(std::move(entry.second), std::move(value));
          } else if constexpr (kCheapApprox<C>) {
            // A string or a vector of numbers may grow, and is cheap to measure.
            const uint64_t before = ApproxBytes(entry.second);
            entry.second = agg.Merge(std::move(entry.second), std::move(value));
            entry_bytes_ += ApproxBytes(entry.second);
            entry_bytes_ -= before;
          } else {
            // Anything else is taken to keep its size: measuring a nested
            // combiner on every merge would cost more than the merge.
            entry.second = agg.Merge(std::move(entry.second), std::move(value));
          }
          return;
        }
      }
    }
  }
  template <typename F>
  void Combine(std::pair<K, C>& kv, uint64_t hash, F& f) {
    ReduceAggregator<F> agg{f};
    CombineWith(kv.first, kv.second, hash, agg);
  }
  template <typename F>
  void Combine(std::pair<K, C>& kv, F& f) {
    Combine(kv, Hash(kv.first), f);
  }

  // Hints for callers that look up several keys at once, so that their
  // cache misses overlap instead of queueing: first the home slot, then
  // (once the slot is likely cached) the entry it names.
  void PrefetchSlot(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[TagOf(hash) >> shift_]);
  }
  void PrefetchEntry(uint64_t hash) const {
    if (slots_.empty()) return;
    const uint32_t tag = TagOf(hash);
    const Slot& slot = slots_[tag >> shift_];
    if (slot.tag == tag && slot.entry != kEmpty) __builtin_prefetch(&entries_[slot.entry]);
  }

  // Calls fn with every entry, in insertion order, and empties the table;
  // fn may move from the entry.
  template <typename Fn>
  void Drain(Fn&& fn) {
    for (std::pair<K, C>& kv : entries_) fn(kv);
    *this = CombineTable();
  }

  // Moves the entries out, ordered by Hash(key), and empties the table.
  std::vector<std::pair<K, C>> TakeSortedByHash() {
    std::vector<std::pair<uint64_t, uint32_t>> order;
    order.reserve(entries_.size());
    for (uint32_t i = 0; i < entries_.size(); ++i) order.emplace_back(Hash(entries_[i].first), i);
    std::sort(order.begin(), order.end());
    std::vector<std::pair<K, C>> sorted;
    sorted.reserve(entries_.size());
    for (const auto& [hash, i] : order) sorted.push_back(std::move(entries_[i]));
    *this = CombineTable();
    return sorted;
  }

  size_t size() const { return entries_.size(); }
  // About the memory the table holds: its entries (with what they own, as
  // far as ApproxBytes sees), the unused capacity of the entry array, and
  // the slots.
  uint64_t bytes() const {
    return entry_bytes_ + (entries_.capacity() - entries_.size()) * sizeof(std::pair<K, C>) +
           slots_.capacity() * sizeof(Slot);
  }

 private:
  struct Slot {
    uint32_t tag;
    uint32_t entry;  // index into entries_, or kEmpty
  };
  static constexpr uint32_t kEmpty = ~uint32_t{0};
  static constexpr size_t kMaxEntries = size_t{1} << 31;
  static constexpr int kTagBits = 32;
  static constexpr int kInitialBits = 6;  // 64 slots: small tasks stay small

  static uint32_t TagOf(uint64_t hash) { return static_cast<uint32_t>(hash >> kTagBits); }

  void Grow() {
    const int bits = slots_.empty() ? kInitialBits : (kTagBits - shift_) + 1;
    std::vector<Slot> old(size_t{1} << bits, Slot{0, kEmpty});
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    shift_ = kTagBits - bits;
    // A tag holds its key's home slot at every size: no key is hashed again.
    for (const Slot& slot : old) {
      if (slot.entry == kEmpty) continue;
      size_t i = slot.tag >> shift_;
      while (slots_[i].entry != kEmpty) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = kTagBits;
  std::vector<std::pair<K, C>> entries_;
  uint64_t entry_bytes_ = 0;
};

// Map-side combining in small batches. Each record's lookup is mostly two
// cache misses (slot, entry) once the key set outgrows the caches, and one
// record at a time they queue one behind the other. Holding kBatch records
// lets their slot loads, then their entry loads, be in flight together.
// Records are still combined in arrival order, so results are as unbatched.
// Values of type V are merged through aggregator Agg into entries of type C.
template <typename K, typename V, typename C, typename Agg>
class BatchedCombiner {
 public:
  explicit BatchedCombiner(Agg& agg) : agg_(agg) {}

  void Add(std::pair<K, V>& kv) {
    const uint64_t hash = CombineTable<K, C>::Hash(kv.first);
    table_.PrefetchSlot(hash);
    batch_[size_] = std::move(kv);
    hashes_[size_] = hash;
    if (++size_ == kBatch) Flush();
  }

  void Flush() {
    for (size_t i = 0; i < size_; ++i) table_.PrefetchEntry(hashes_[i]);
    for (size_t i = 0; i < size_; ++i) {
      table_.CombineWith(batch_[i].first, batch_[i].second, hashes_[i], agg_);
    }
    size_ = 0;
  }

  // All records are combined (call Flush first).
  CombineTable<K, C>& table() { return table_; }

 private:
  // Enough loads in flight to cover memory latency; small enough that the
  // batch itself stays in L1.
  static constexpr size_t kBatch = 16;
  Agg& agg_;
  CombineTable<K, C> table_;
  std::array<std::pair<K, V>, kBatch> batch_;
  std::array<uint64_t, kBatch> hashes_;
  size_t size_ = 0;
};

}  // namespace ember::internal
