// The map side's output buffers: encoded records per reducer, sealed into
// blocks, and the decoding of a block on the read side.
//
// Thread-safety: one per task thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ember/hash.h"
#include "ember/record.h"
#include "ember/task.h"

namespace ember::internal {

// Target size of one shuffle block; large enough that per-block costs
// (framing, checksums, RPC chunks) vanish, small enough to stream.
inline constexpr size_t kShuffleBlockBytes = 1 << 20;

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

}  // namespace ember::internal
