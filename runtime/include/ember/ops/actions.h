// The result sinks of the actions: collect, count, reduce, take,
// takeOrdered and top, aggregate and fold, foreach and foreachPartition.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "ember/function.h"
#include "ember/ops/records.h"
#include "ember/ops/sort.h"
#include "ember/record.h"
#include "ember/task.h"

namespace ember::internal {

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

// takeOrdered and top: the partition's first n records in the order, kept
// in a bounded max-heap (by the order) whose top is the last one kept;
// sent back sorted.
template <typename T, typename Cmp>
struct TakeOrderedSink {
  using Capture = std::tuple<uint64_t, bool, std::string>;  // n, descending, comparator
  static std::string Run(TaskContext& tc, const NodeView& top, uint32_t partition,
                         std::string_view capture) {
    (void)Registered<&Run, ResultSignature<T>>::value;
    auto spec = DecodeFromString<Capture>(capture);
    if (!spec.ok()) Fail(spec.status().WithContext("takeOrdered: bad limit"));
    KeyOrder<T, Cmp> order(std::get<1>(*spec), std::get<2>(*spec));
    struct ByOrder {
      KeyOrder<T, Cmp>* order;
      bool operator()(const T& a, const T& b) const { return order->Before(a, b); }
    };
    class Keeper final : public Consumer<T> {
     public:
      Keeper(uint64_t limit, ByOrder by) : limit_(limit), by_(by) {}
      void Push(T& v) override {
        if (items.size() < limit_) {
          items.push_back(std::move(v));
          std::push_heap(items.begin(), items.end(), by_);
        } else if (limit_ > 0 && by_(v, items.front())) {
          std::pop_heap(items.begin(), items.end(), by_);
          items.back() = std::move(v);
          std::push_heap(items.begin(), items.end(), by_);
        }
      }
      std::vector<T> items;

     private:
      uint64_t limit_;
      ByOrder by_;
    } keeper(std::get<0>(*spec), ByOrder{&order});
    tc.RunNode(top.index, partition, keeper);
    std::sort_heap(keeper.items.begin(), keeper.items.end(), ByOrder{&order});
    return EncodeToString(keeper.items);
  }
};

// aggregate and fold: the partition's records folded into a copy of the
// zero value with seq; the driver merges the partitions' results.
template <typename T, typename U, typename Seq>
struct AggregateSink {
  static std::string Run(TaskContext& tc, const NodeView& top, uint32_t partition,
                         std::string_view capture) {
    (void)Registered<&Run, ResultSignature<T>>::value;
    auto spec = DecodeFromString<std::pair<std::string, std::string>>(capture);
    if (!spec.ok()) Fail(spec.status().WithContext("aggregate: bad function state"));
    auto zero = DecodeFromString<U>(spec->first);
    if (!zero.ok()) Fail(zero.status().WithContext("aggregate: bad zero value"));
    CapturedFn<Seq> seq(spec->second);
    class Folder final : public Consumer<T> {
     public:
      Folder(U z, Seq& s) : acc(std::move(z)), seq_(s) {}
      void Push(T& v) override { acc = seq_(std::move(acc), std::move(v)); }
      U acc;

     private:
      Seq& seq_;
    } folder(std::move(*zero), seq.get());
    tc.RunNode(top.index, partition, folder);
    return EncodeToString(folder.acc);
  }
};

// foreach: f(record) on the executors, for its effects.
template <typename T, typename F>
struct ForeachSink {
  static std::string Run(TaskContext& tc, const NodeView& top, uint32_t partition,
                         std::string_view capture) {
    (void)Registered<&Run, ResultSignature<T>>::value;
    CapturedFn<F> f(capture);
    class Caller final : public Consumer<T> {
     public:
      explicit Caller(F& fn) : fn_(fn) {}
      void Push(T& v) override { fn_(std::move(v)); }

     private:
      F& fn_;
    } caller(f.get());
    tc.RunNode(top.index, partition, caller);
    return std::string();
  }
};

// foreachPartition: f(all records of the partition), once per partition.
template <typename T, typename F>
struct ForeachPartitionSink {
  static std::string Run(TaskContext& tc, const NodeView& top, uint32_t partition,
                         std::string_view capture) {
    (void)Registered<&Run, ResultSignature<T>>::value;
    CapturedFn<F> f(capture);
    VectorConsumer<T> all;
    tc.RunNode(top.index, partition, all);
    f.get()(std::move(all.items));
    return std::string();
  }
};

}  // namespace ember::internal
