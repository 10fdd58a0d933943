// The invokers behind each RDD operation, instantiated in the application
// library and called by executors through ember/function.h.
//
// Shapes (all take the TaskContext and the node as the executor sees it):
//   node:    Run(tc, node, partition, out)     pushes the node's records into out
//   writer:  Write(tc, top, partition, capture, reducers)   map side of a shuffle
//   sink:    Run(tc, top, partition, capture) -> bytes      result of an action
// Records cross process boundaries only as encoded blocks.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ember/function.h"
#include "ember/hash.h"
#include "ember/record.h"
#include "ember/task.h"
#include "ember/text_format.h"

namespace ember::fs {
class FileSystem;
class WritableFile;
}  // namespace ember::fs

namespace ember::internal {

// A value with no content, for distinct's pairs.
struct Unit {
  friend bool operator==(Unit, Unit) { return true; }
};

template <typename T>
struct PairTraits {
  static_assert(sizeof(T) == 0, "Ember: this operation needs an RDD of std::pair<key, value>");
};
template <typename K, typename V>
struct PairTraits<std::pair<K, V>> {
  using Key = K;
  using Value = V;
};

// Target size of one shuffle block; large enough that per-block costs
// (framing, checksums, RPC chunks) vanish, small enough to stream.
inline constexpr size_t kShuffleBlockBytes = 1 << 20;

template <typename U>
class Emitter {
 public:
  explicit Emitter(Consumer<U>& down) : down_(down) {}
  template <typename X>
  void operator()(X&& x) {
    // Checked here, the first place the emitted type is known, so that this
    // line is the first thing the compiler says.
    static_assert(std::is_constructible_v<U, X&&>,
                  "Ember: flatMap's out(value) emits a type its output type cannot be made "
                  "from; the output type is std::string unless named: write flatMap<T>(...) "
                  "with T the type the function emits");
    if constexpr (std::is_constructible_v<U, X&&>) {
      U value(std::forward<X>(x));
      down_.Push(value);
    }
  }

 private:
  Consumer<U>& down_;
};

// ----------------------------------------------------------- narrow steps --

template <typename In, typename Out, typename F>
struct MapStep {
  using Fn = F;
  F f;
  void Apply(In& v, Consumer<Out>& down) {
    Out out = f(std::move(v));
    down.Push(out);
  }
};

template <typename In, typename Out, typename F, bool kEmitter>
struct FlatMapStep {
  using Fn = F;
  F f;
  void Apply(In& v, Consumer<Out>& down) {
    if constexpr (kEmitter) {
      Emitter<Out> emit(down);
      f(std::move(v), emit);
    } else {
      for (auto&& x : f(std::move(v))) {
        Out out(std::move(x));
        down.Push(out);
      }
    }
  }
};

template <typename In, typename F>
struct FilterStep {
  using Fn = F;
  F f;
  void Apply(In& v, Consumer<In>& down) {
    if (f(static_cast<const In&>(v))) down.Push(v);
  }
};

template <typename K, typename V, typename W, typename F>
struct MapValuesStep {
  using Fn = F;
  F f;
  void Apply(std::pair<K, V>& v, Consumer<std::pair<K, W>>& down) {
    std::pair<K, W> out(std::move(v.first), f(std::move(v.second)));
    down.Push(out);
  }
};

template <typename T, typename K, typename F>
struct KeyByStep {
  using Fn = F;
  F f;
  void Apply(T& v, Consumer<std::pair<K, T>>& down) {
    K key = f(static_cast<const T&>(v));
    std::pair<K, T> out(std::move(key), std::move(v));
    down.Push(out);
  }
};

// One narrow transformation, pipelined: records flow from the parent through
// Step into `out` without being stored.
template <typename In, typename Out, typename Step>
struct PipeOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<Out, In>>::value;
    CapturedFn<typename Step::Fn> fn(node.capture);
    Step step{fn.get()};
    class Adapter final : public Consumer<In> {
     public:
      Adapter(Step& s, Consumer<Out>& d) : step_(s), down_(d) {}
      void Push(In& v) override { step_.Apply(v, down_); }

     private:
      Step& step_;
      Consumer<Out>& down_;
    } adapter(step, As<Out>(out));
    tc.RunParent(node, 0, partition, adapter);
  }
};

template <typename T>
class VectorConsumer final : public Consumer<T> {
 public:
  void Push(T& v) override { items.push_back(std::move(v)); }
  std::vector<T> items;
};

template <typename In, typename Out, typename F>
struct MapPartitionsOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<Out, In>>::value;
    CapturedFn<F> f(node.capture);
    auto& down = As<Out>(out);
    VectorConsumer<In> all;
    tc.RunParent(node, 0, partition, all);
    for (auto&& x : f.get()(std::move(all.items))) {
      Out value(std::move(x));
      down.Push(value);
    }
  }
};

// ---------------------------------------------------------------- sources --

// Records encoded in the node's payload for this partition (parallelize).
template <typename T>
struct DecodeSourceOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<T, void>>::value;
    auto& down = As<T>(out);
    RecordReader reader(tc.Payload(node, partition));
    while (!reader.AtEnd()) {
      T value;
      Status st = Decode(reader, value);
      if (!st.ok()) Fail(st.WithContext("decoding a parallelize slice"));
      if (++tc.counters().records_in % kCancelCheckEvery == 0) tc.CheckCancelled();
      down.Push(value);
    }
  }
};

// Non-template sources and union live in the runtime library.
FnRef UnionRef();
FnRef TextFileRef();
FnRef RangeRef();

// ---------------------------------------------------------------- shuffle --

// Encoded records per reducer, sealed into blocks of kShuffleBlockBytes.
// Blocks are handed to the task in reducer order once the input is done,
// since a map output file stores each reducer's segment contiguously.
template <typename T>
class ReducerBlocks {
 public:
  explicit ReducerBlocks(uint32_t reducers) : open_(reducers), sealed_(reducers) {}

  void Add(uint32_t reducer, const T& value) {
    std::string& buf = open_[reducer];
    RecordWriter writer(buf);
    Encode(writer, value);
    ++records_;
    if (buf.size() >= kShuffleBlockBytes) {
      sealed_[reducer].push_back(std::move(buf));
      buf = std::string();
    }
  }

  void Flush(TaskContext& tc) {
    for (uint32_t r = 0; r < open_.size(); ++r) {
      for (const std::string& block : sealed_[r]) tc.WriteShuffleBlock(r, block);
      if (!open_[r].empty()) tc.WriteShuffleBlock(r, open_[r]);
    }
    tc.counters().records_out += records_;
  }

 private:
  std::vector<std::string> open_;
  std::vector<std::vector<std::string>> sealed_;
  uint64_t records_ = 0;
};

template <typename K>
uint32_t ReducerOf(const K& key, uint32_t reducers) {
  return static_cast<uint32_t>(StableHash(key) % reducers);
}

// groupByKey's table. It could move to CombineTable below too; it has not
// been measured yet.
template <typename K, typename V>
using CombineMap = std::unordered_map<K, V, StableHasher<K>>;

// Calls `fn` with every (key, value) of `map`, moving them out.
template <typename K, typename V, typename Fn>
void Drain(CombineMap<K, V>& map, Fn&& fn) {
  while (!map.empty()) {
    auto handle = map.extract(map.begin());
    std::pair<K, V> kv(std::move(handle.key()), std::move(handle.mapped()));
    fn(kv);
  }
}

// The table behind reduceByKey's combining, on both sides of the shuffle.
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
template <typename K, typename V>
class CombineTable {
 public:
  static uint64_t Hash(const K& key) { return StableHash(key); }

  // Merges kv into the table with f; the key and value are moved only when
  // the key is new. `hash` is Hash(kv.first).
  template <typename F>
  void Combine(std::pair<K, V>& kv, uint64_t hash, F& f) {
    const uint32_t tag = TagOf(hash);
    if (entries_.size() >= (slots_.size() >> 1)) Grow();  // load <= 1/2
    for (size_t i = tag >> shift_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.entry == kEmpty) {
        if (entries_.size() >= kMaxEntries) {
          Fail(ResourceExhaustedError("reduceByKey: more than 2^31 keys in one task"));
        }
        entries_.emplace_back(std::move(kv.first), std::move(kv.second));
        slot = {tag, static_cast<uint32_t>(entries_.size() - 1)};
        return;
      }
      if (slot.tag == tag) {
        std::pair<K, V>& entry = entries_[slot.entry];
        if (entry.first == kv.first) {
          entry.second = f(std::move(entry.second), std::move(kv.second));
          return;
        }
      }
    }
  }
  template <typename F>
  void Combine(std::pair<K, V>& kv, F& f) {
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
    for (std::pair<K, V>& kv : entries_) fn(kv);
    *this = CombineTable();
  }

  size_t size() const { return entries_.size(); }

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
  std::vector<std::pair<K, V>> entries_;
};

// Map-side combining in small batches. Each record's lookup is mostly two
// cache misses (slot, entry) once the key set outgrows the caches, and one
// record at a time they queue one behind the other. Holding kBatch records
// lets their slot loads, then their entry loads, be in flight together.
// Records are still combined in arrival order, so results are as unbatched.
template <typename K, typename V, typename F>
class BatchedCombiner {
 public:
  explicit BatchedCombiner(F& f) : f_(f) {}

  void Add(std::pair<K, V>& kv) {
    const uint64_t hash = CombineTable<K, V>::Hash(kv.first);
    table_.PrefetchSlot(hash);
    batch_[size_] = std::move(kv);
    hashes_[size_] = hash;
    if (++size_ == kBatch) Flush();
  }

  void Flush() {
    for (size_t i = 0; i < size_; ++i) table_.PrefetchEntry(hashes_[i]);
    for (size_t i = 0; i < size_; ++i) table_.Combine(batch_[i], hashes_[i], f_);
    size_ = 0;
  }

  // All records are combined (call Flush first).
  CombineTable<K, V>& table() { return table_; }

 private:
  // Enough loads in flight to cover memory latency; small enough that the
  // batch itself stays in L1.
  static constexpr size_t kBatch = 16;
  F& f_;
  CombineTable<K, V> table_;
  std::array<std::pair<K, V>, kBatch> batch_;
  std::array<uint64_t, kBatch> hashes_;
  size_t size_ = 0;
};

// Map side of reduceByKey: combine within the task, then partition by key.
template <typename K, typename V, typename F>
struct CombineWriteOp {
  static void Write(TaskContext& tc, const NodeView& top, uint32_t partition,
                    std::string_view capture, uint32_t reducers) {
    (void)Registered<&Write, WriterSignature<std::pair<K, V>>>::value;
    CapturedFn<F> f(capture);
    class Combiner final : public Consumer<std::pair<K, V>> {
     public:
      explicit Combiner(F& fn) : batched(fn) {}
      void Push(std::pair<K, V>& kv) override { batched.Add(kv); }
      BatchedCombiner<K, V, F> batched;
    } combiner(f.get());
    tc.RunNode(top.index, partition, combiner);
    combiner.batched.Flush();
    ReducerBlocks<std::pair<K, V>> blocks(reducers);
    combiner.batched.table().Drain(
        [&](std::pair<K, V>& kv) { blocks.Add(ReducerOf(kv.first, reducers), kv); });
    blocks.Flush(tc);
  }
};

// Map side of groupByKey: partition by key, no combining.
template <typename K, typename V>
struct HashWriteOp {
  static void Write(TaskContext& tc, const NodeView& top, uint32_t partition, std::string_view,
                    uint32_t reducers) {
    (void)Registered<&Write, WriterSignature<std::pair<K, V>>>::value;
    class Partitioner final : public Consumer<std::pair<K, V>> {
     public:
      explicit Partitioner(uint32_t n) : blocks(n), reducers_(n) {}
      void Push(std::pair<K, V>& kv) override { blocks.Add(ReducerOf(kv.first, reducers_), kv); }
      ReducerBlocks<std::pair<K, V>> blocks;

     private:
      uint32_t reducers_;
    } partitioner(reducers);
    tc.RunNode(top.index, partition, partitioner);
    partitioner.blocks.Flush(tc);
  }
};

// Map side of repartition: round robin, starting where the partition index
// says so that small partitions do not all land on reducer 0.
template <typename T>
struct RoundRobinWriteOp {
  static void Write(TaskContext& tc, const NodeView& top, uint32_t partition, std::string_view,
                    uint32_t reducers) {
    (void)Registered<&Write, WriterSignature<T>>::value;
    class Spreader final : public Consumer<T> {
     public:
      Spreader(uint32_t n, uint32_t start) : blocks(n), reducers_(n), next_(start % n) {}
      void Push(T& v) override {
        blocks.Add(next_, v);
        next_ = next_ + 1 == reducers_ ? 0 : next_ + 1;
      }
      ReducerBlocks<T> blocks;

     private:
      uint32_t reducers_;
      uint32_t next_;
    } spreader(reducers, partition);
    tc.RunNode(top.index, partition, spreader);
    spreader.blocks.Flush(tc);
  }
};

template <typename T, typename Fn>
void DecodeBlock(std::string_view block, Fn&& fn) {
  RecordReader reader(block);
  while (!reader.AtEnd()) {
    T value;
    Status st = Decode(reader, value);
    if (!st.ok()) Fail(st.WithContext("decoding a shuffle block"));
    fn(value);
  }
}

template <typename K, typename V, typename F>
struct CombineReadOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<std::pair<K, V>, void>>::value;
    CapturedFn<F> f(node.capture);
    auto& down = As<std::pair<K, V>>(out);
    CombineTable<K, V> table;
    tc.ReadShuffle(node.shuffle_id, partition, [&](std::string_view block) {
      DecodeBlock<std::pair<K, V>>(block, [&](std::pair<K, V>& kv) {
        ++tc.counters().records_in;
        table.Combine(kv, f.get());
      });
    });
    table.Drain([&](std::pair<K, V>& kv) { down.Push(kv); });
  }
};

template <typename K, typename V>
struct GroupReadOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<std::pair<K, std::vector<V>>, void>>::value;
    auto& down = As<std::pair<K, std::vector<V>>>(out);
    CombineMap<K, std::vector<V>> groups;
    tc.ReadShuffle(node.shuffle_id, partition, [&](std::string_view block) {
      DecodeBlock<std::pair<K, V>>(block, [&](std::pair<K, V>& kv) {
        ++tc.counters().records_in;
        groups[std::move(kv.first)].push_back(std::move(kv.second));
      });
    });
    Drain(groups, [&](std::pair<K, std::vector<V>>& kv) { down.Push(kv); });
  }
};

template <typename T>
struct PlainReadOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<T, void>>::value;
    auto& down = As<T>(out);
    tc.ReadShuffle(node.shuffle_id, partition, [&](std::string_view block) {
      DecodeBlock<T>(block, [&](T& v) {
        ++tc.counters().records_in;
        down.Push(v);
      });
    });
  }
};

// ------------------------------------------------------------ result sinks --

template <typename T>
struct CollectSink {
  static std::string Run(TaskContext& tc, const NodeView& top, uint32_t partition,
                         std::string_view) {
    (void)Registered<&Run, ResultSignature<T>>::value;
    class Collector final : public Consumer<T> {
     public:
      void Push(T& v) override {
        RecordWriter writer(bytes);
        Encode(writer, v);
        ++count;
      }
      std::string bytes;
      uint64_t count = 0;
    } collector;
    tc.RunNode(top.index, partition, collector);
    tc.counters().records_out += collector.count;
    return std::move(collector.bytes);
  }
};

template <typename T>
struct CountSink {
  static std::string Run(TaskContext& tc, const NodeView& top, uint32_t partition,
                         std::string_view) {
    (void)Registered<&Run, ResultSignature<T>>::value;
    class Counter final : public Consumer<T> {
     public:
      void Push(T&) override { ++count; }
      uint64_t count = 0;
    } counter;
    tc.RunNode(top.index, partition, counter);
    return EncodeToString(counter.count);
  }
};

template <typename T, typename F>
struct ReduceSink {
  static std::string Run(TaskContext& tc, const NodeView& top, uint32_t partition,
                         std::string_view capture) {
    (void)Registered<&Run, ResultSignature<T>>::value;
    CapturedFn<F> f(capture);
    class Reducer final : public Consumer<T> {
     public:
      explicit Reducer(F& fn) : fn_(fn) {}
      void Push(T& v) override { acc = acc ? T(fn_(std::move(*acc), std::move(v))) : std::move(v); }
      std::optional<T> acc;

     private:
      F& fn_;
    } reducer(f.get());
    tc.RunNode(top.index, partition, reducer);
    return EncodeToString(reducer.acc);
  }
};

template <typename T>
struct TakeSink {
  static std::string Run(TaskContext& tc, const NodeView& top, uint32_t partition,
                         std::string_view capture) {
    (void)Registered<&Run, ResultSignature<T>>::value;
    auto limit = DecodeFromString<uint64_t>(capture);
    if (!limit.ok()) Fail(limit.status().WithContext("take: bad limit"));
    class Taker final : public Consumer<T> {
     public:
      explicit Taker(uint64_t n) : limit_(n) {}
      void Push(T& v) override {
        if (count >= limit_) throw StopPartition{};
        RecordWriter writer(bytes);
        Encode(writer, v);
        if (++count >= limit_) throw StopPartition{};
      }
      std::string bytes;
      uint64_t count = 0;

     private:
      uint64_t limit_;
    } taker(*limit);
    if (*limit > 0) {
      try {
        tc.RunNode(top.index, partition, taker);
      } catch (const StopPartition&) {
        // Enough records: the rest of the partition is not needed.
      }
    }
    return std::move(taker.bytes);
  }
};

// Writes one part file of a text output. Lines go to a temporary file under
// DIR/_temporary, unique to the attempt; Commit (called only once the
// driver has authorised this attempt) syncs it and renames it to
// DIR/part-NNNNN without ever replacing an existing part. A failed or killed
// attempt leaves only its temporary file, which the driver removes.
class TextPartWriter {
 public:
  TextPartWriter(const std::string& dir, uint32_t partition, uint32_t attempt);
  ~TextPartWriter();
  TextPartWriter(const TextPartWriter&) = delete;
  TextPartWriter& operator=(const TextPartWriter&) = delete;
  std::string& buffer() { return buffer_; }
  void MaybeFlush() {
    if (buffer_.size() >= kFlushBytes) Flush();
  }
  // Flushes, syncs and renames into place; throws TaskError on failure.
  void Commit();

 private:
  static constexpr size_t kFlushBytes = 1 << 20;
  void Flush();
  fs::FileSystem* fs_ = nullptr;
  std::unique_ptr<fs::WritableFile> file_;
  std::string final_path_;
  std::string buffer_;
};

// Driver side of saveAsTextFile. Prepare creates the directory, refusing
// one that exists (atomically), and returns the path executors write to.
// Commit checks that every part is there, removes the temporaries and only
// then writes _SUCCESS. Abort removes the directory and all in it, for a
// job that failed. Each throws InvalidInput or JobFailed naming the path.
std::string PrepareTextOutput(const std::string& path);
void CommitTextOutput(const std::string& dir, uint32_t partitions);
void AbortTextOutput(const std::string& dir) noexcept;

template <typename T>
struct SaveTextSink {
  static std::string Run(TaskContext& tc, const NodeView& top, uint32_t partition,
                         std::string_view capture) {
    (void)Registered<&Run, ResultSignature<T>>::value;
    auto dir = DecodeFromString<std::string>(capture);
    if (!dir.ok()) Fail(dir.status().WithContext("saveAsTextFile: bad output path"));
    TextPartWriter writer(*dir, partition, tc.attempt());
    class Formatter final : public Consumer<T> {
     public:
      Formatter(TextPartWriter& w, TaskContext& tc) : writer_(w), tc_(tc) {}
      void Push(T& v) override {
        AppendText(writer_.buffer(), v);
        writer_.buffer().push_back('\n');
        if (++count % kCancelCheckEvery == 0) tc_.CheckCancelled();
        writer_.MaybeFlush();
      }
      uint64_t count = 0;

     private:
      TextPartWriter& writer_;
      TaskContext& tc_;
    } formatter(writer, tc);
    tc.RunNode(top.index, partition, formatter);
    // Exactly one attempt per partition renames its file into place.
    tc.AskCommit();
    writer.Commit();
    tc.counters().records_out += formatter.count;
    return std::string();
  }
};

// Signatures of the three invoker shapes, for the executor's casts.
using NodeRunFn = void (*)(TaskContext&, const NodeView&, uint32_t, ErasedConsumer&);
using ShuffleWriteFn = void (*)(TaskContext&, const NodeView&, uint32_t, std::string_view,
                                uint32_t);
using ResultFn = std::string (*)(TaskContext&, const NodeView&, uint32_t, std::string_view);

}  // namespace ember::internal

namespace ember {
template <>
struct Codec<internal::Unit> {
  static void Encode(RecordWriter&, const internal::Unit&) {}
  static Status Decode(RecordReader&, internal::Unit&) { return Status::Ok(); }
};
}  // namespace ember
