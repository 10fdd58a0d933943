// persist and cache: a partition computed once is kept, encoded, on the
// executor that computed it; later tasks there read it instead of running
// its lineage again. A partition that is not there (never computed there,
// its executor lost, unpersisted) is computed from lineage and kept anew.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "ember/core/reducer_blocks.h"
#include "ember/function.h"
#include "ember/record.h"
#include "ember/task.h"

namespace ember::internal {

// cache id, storage level.
using CacheCapture = std::pair<uint64_t, uint8_t>;

template <typename T>
struct CacheOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<T, T>>::value;
    auto spec = DecodeFromString<CacheCapture>(node.capture);
    if (!spec.ok()) Fail(spec.status().WithContext("persist: bad cache id"));
    const auto [cache_id, level] = *spec;
    auto& down = As<T>(out);
    if (std::shared_ptr<const std::string> block = tc.CachedBlock(cache_id, partition)) {
      uint64_t n = 0;
      DecodeBlock<T>(*block, [&](T& v) {
        if (++n % kCancelCheckEvery == 0) tc.CheckCancelled();
        down.Push(v);
      });
      tc.counters().records_in += n;
      return;
    }
    // Encoded before it goes on: the consumer may move from the record.
    class Keeper final : public Consumer<T> {
     public:
      explicit Keeper(Consumer<T>& d) : down_(d) {}
      void Push(T& v) override {
        RecordWriter writer(bytes);
        Encode(writer, v);
        down_.Push(v);
      }
      std::string bytes;

     private:
      Consumer<T>& down_;
    } keeper(down);
    tc.RunParent(node, 0, partition, keeper);
    // Only a whole partition is kept: a sink that stops early (take)
    // throws through here, and nothing is stored.
    tc.PutCachedBlock(cache_id, partition, level, std::move(keeper.bytes));
  }
};

}  // namespace ember::internal
