// What operators use to stay within the executor's memory budget: a claim
// on the budget that grows with what they hold, an estimate of a record's
// size in memory, and sorted runs of records spilled to disk and read back.
//
// Thread-safety: one per task thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/core/spill_file.h"
#include "ember/record.h"
#include "ember/task.h"

namespace ember::internal {

// A task's share of the executor's memory budget, given back when the
// operator spills or ends.
class MemoryClaim {
 public:
  explicit MemoryClaim(TaskContext& tc) : tc_(tc) {}
  ~MemoryClaim() { Release(); }
  MemoryClaim(const MemoryClaim&) = delete;
  MemoryClaim& operator=(const MemoryClaim&) = delete;

  // The operator now holds about `held` bytes. False means the budget has no
  // room for them: spill, then Release. Claims grow by at least kStep, so
  // the shared budget is asked a few times per megabyte, not per record.
  // Below kMinSpill an operator keeps going over the budget instead: spilling
  // a few records at a time would thrash and free next to nothing.
  bool Hold(uint64_t held) {
    if (held <= claimed_) return true;
    const uint64_t more = std::max(held - claimed_, kStep);
    if (tc_.TryReserveMemory(more)) {
      claimed_ += more;
      return true;
    }
    return held < kMinSpill;
  }
  void Release() {
    if (claimed_ > 0) tc_.ReleaseMemory(claimed_);
    claimed_ = 0;
  }
  uint64_t claimed() const { return claimed_; }

  static constexpr uint64_t kStep = uint64_t{1} << 20;
  static constexpr uint64_t kMinSpill = uint64_t{1} << 20;

 private:
  TaskContext& tc_;
  uint64_t claimed_ = 0;
};

// About how many bytes a value takes in memory: its own size and, for the
// containers records are made of, what they point to. An estimate for the
// budget (allocator overhead is not counted), cheap for the common cases.
template <typename T>
uint64_t ApproxBytes(const T& value);

namespace spill_detail {
template <typename T>
struct Approx {
  static uint64_t Heap(const T&) { return 0; }
};
template <>
struct Approx<std::string> {
  // Short strings live inside the object.
  static uint64_t Heap(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }
};
template <typename A, typename B>
struct Approx<std::pair<A, B>> {
  static uint64_t Heap(const std::pair<A, B>& p) {
    return Approx<A>::Heap(p.first) + Approx<B>::Heap(p.second);
  }
};
template <typename E>
struct Approx<std::vector<E>> {
  static uint64_t Heap(const std::vector<E>& v) {
    uint64_t n = v.capacity() * sizeof(E);
    if constexpr (!std::is_arithmetic_v<E>) {
      for (const E& e : v) n += Approx<E>::Heap(e);
    }
    return n;
  }
};
}  // namespace spill_detail

template <typename T>
uint64_t ApproxBytes(const T& value) {
  return sizeof(T) + spill_detail::Approx<T>::Heap(value);
}

// Types whose ApproxBytes takes constant time.
template <typename T>
inline constexpr bool kCheapApprox = std::is_arithmetic_v<T>;
template <>
inline constexpr bool kCheapApprox<std::string> = true;
template <typename E>
inline constexpr bool kCheapApprox<std::vector<E>> = std::is_arithmetic_v<E>;
template <typename A, typename B>
inline constexpr bool kCheapApprox<std::pair<A, B>> = kCheapApprox<A>&& kCheapApprox<B>;

// Ends writing `file` and counts it as one of the task's spills.
inline void FinishSpill(TaskContext& tc, SpillFile& file) {
  file.FinishWriting();
  tc.counters().spilled_bytes += file.bytes();
  ++tc.counters().spills;
}

// Size of the blocks runs are written in: large enough for sequential disk
// writes, small enough that merging many runs holds little.
inline constexpr size_t kRunBlockBytes = 64 << 10;

// Writes records, in the order given, to a new spill file.
template <typename T>
class RunWriter {
 public:
  explicit RunWriter(TaskContext& tc) : tc_(tc), file_(tc.SpillDir()) {}
  void Add(const T& value) {
    RecordWriter writer(buffer_);
    Encode(writer, value);
    if (buffer_.size() >= kRunBlockBytes) FlushBlock();
  }
  // The finished run, ready to read.
  SpillFile Finish() {
    FlushBlock();
    FinishSpill(tc_, file_);
    return std::move(file_);
  }

 private:
  void FlushBlock() {
    if (buffer_.empty()) return;
    file_.Append(buffer_);
    buffer_.clear();
  }
  TaskContext& tc_;
  SpillFile file_;
  std::string buffer_;
};

// Reads a run's records back one at a time.
template <typename T>
class RunReader {
 public:
  explicit RunReader(SpillFile file) : file_(std::move(file)), reader_(std::string_view()) {}
  // Not movable: the decoder points into the current block. Hold readers
  // by unique_ptr.
  RunReader(const RunReader&) = delete;
  RunReader& operator=(const RunReader&) = delete;

  // The next record into `value`; false at the end of the run.
  bool Next(T& value) {
    while (reader_.AtEnd()) {
      if (!file_.Next(block_)) return false;
      reader_ = RecordReader(block_);
    }
    Status st = Decode(reader_, value);
    if (!st.ok()) Fail(st.WithContext("decoding a spilled run"));
    return true;
  }

 private:
  SpillFile file_;
  std::string block_;
  RecordReader reader_;
};

}  // namespace ember::internal
