// The map side's output buffers: encoded records per reducer, sealed into
// blocks, and the decoding of a block on the read side.
//
// Thread-safety: one per task thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ember/core/spill.h"
#include "ember/core/spill_file.h"
#include "ember/hash.h"
#include "ember/record.h"
#include "ember/task.h"

namespace ember::internal {

// Target size of one shuffle block; large enough that per-block costs
// (framing, checksums, RPC chunks) vanish, small enough to stream.
inline constexpr size_t kShuffleBlockBytes = 1 << 20;

// Encoded records per reducer, sealed into blocks of kShuffleBlockBytes.
// Blocks are handed to the task in reducer order once the input is done,
// since a map output file stores each reducer's segment contiguously. When
// the buffered blocks outgrow the task's share of the memory budget they
// are spilled, in reducer order, to a file; Flush then copies each
// reducer's spilled blocks (oldest spill first) before its buffered ones, so
// every reducer still receives its records in the order they were added.
template <typename T>
class ReducerBlocks {
 public:
  ReducerBlocks(TaskContext& tc, uint32_t reducers)
      : tc_(tc), claim_(tc), open_(reducers), sealed_(reducers) {}

  void Add(uint32_t reducer, const T& value) {
    std::string& buf = open_[reducer];
    const size_t capacity = buf.capacity();
    RecordWriter writer(buf);
    Encode(writer, value);
    ++records_;
    held_ += buf.capacity() - capacity;
    if (buf.size() >= kShuffleBlockBytes) {
      sealed_[reducer].push_back(std::move(buf));
      buf = std::string();
    }
    if (held_ > claim_.claimed() && !claim_.Hold(held_)) Spill();
  }

  void Flush() {
    std::string block;
    for (uint32_t r = 0; r < open_.size(); ++r) {
      for (Spilled& spilled : spills_) {
        for (uint32_t i = 0; i < spilled.blocks[r]; ++i) {
          if (!spilled.file.Next(block)) {
            Fail(DataLossError("spill file: fewer blocks than were spilled"));
          }
          tc_.WriteShuffleBlock(r, block);
        }
      }
      for (const std::string& sealed : sealed_[r]) tc_.WriteShuffleBlock(r, sealed);
      if (!open_[r].empty()) tc_.WriteShuffleBlock(r, open_[r]);
    }
    tc_.counters().records_out += records_;
  }

 private:
  struct Spilled {
    SpillFile file;
    std::vector<uint32_t> blocks;  // per reducer
  };

  void Spill() {
    Spilled spilled{SpillFile(tc_.SpillDir()), std::vector<uint32_t>(open_.size(), 0)};
    for (uint32_t r = 0; r < open_.size(); ++r) {
      for (std::string& block : sealed_[r]) {
        spilled.file.Append(block);
        ++spilled.blocks[r];
      }
      if (!open_[r].empty()) {
        spilled.file.Append(open_[r]);
        ++spilled.blocks[r];
      }
      std::vector<std::string>().swap(sealed_[r]);
      std::string().swap(open_[r]);
    }
    FinishSpill(tc_, spilled.file);
    spills_.push_back(std::move(spilled));
    held_ = 0;
    claim_.Release();
  }

  TaskContext& tc_;
  MemoryClaim claim_;
  std::vector<std::string> open_;
  std::vector<std::vector<std::string>> sealed_;
  std::vector<Spilled> spills_;
  uint64_t held_ = 0;  // bytes allocated for open and sealed blocks
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
