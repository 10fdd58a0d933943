// A stable sort within the memory budget. Records gather in memory; when
// they outgrow the task's share they are sorted and spilled as a run, and at
// the end the runs and the records still in memory are merged. Equal
// records come out in the order they were added: runs hold consecutive
// stretches of the input, and the merge prefers the older one on a tie.
//
// Thread-safety: one per task thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <queue>
#include <utility>
#include <vector>

#include "ember/core/spill.h"
#include "ember/task.h"

namespace ember::internal {

// Before: bool(const T&, const T&), a strict weak order.
template <typename T, typename Before>
class ExternalSorter {
 public:
  ExternalSorter(TaskContext& tc, Before before)
      : tc_(tc), before_(std::move(before)), claim_(tc) {}

  // Takes `value` (moved from).
  void Add(T& value) {
    if (records_.size() == records_.capacity()) {
      // Growing holds the old array and the new, twice as large, at once.
      const uint64_t grown = held_ + 3 * records_.capacity() * sizeof(T);
      if (grown > claim_.claimed() && !claim_.Hold(grown)) Spill();
    }
    held_ += ApproxBytes(value) - sizeof(T);
    records_.push_back(std::move(value));
    // std::stable_sort borrows a buffer of half the records.
    const uint64_t held = held_ + records_.capacity() * sizeof(T) * 3 / 2;
    if (held > claim_.claimed() && !claim_.Hold(held)) Spill();
  }

  // Calls fn(T&) with every record, in order; fn may move from it.
  template <typename Fn>
  void Drain(Fn&& fn) {
    tc_.CheckCancelled();
    SortInMemory();
    uint64_t n = 0;
    if (runs_.empty()) {
      for (T& value : records_) {
        if (++n % kCancelCheckEvery == 0) tc_.CheckCancelled();
        fn(value);
      }
    } else {
      Merge(fn);
    }
    std::vector<T>().swap(records_);
    held_ = 0;
    claim_.Release();
  }

 private:
  void SortInMemory() {
    std::stable_sort(records_.begin(), records_.end(),
                     [&](const T& a, const T& b) { return before_(a, b); });
  }

  void Spill() {
    tc_.CheckCancelled();
    SortInMemory();
    RunWriter<T> run(tc_);
    for (const T& value : records_) run.Add(value);
    runs_.push_back(std::make_unique<RunReader<T>>(run.Finish()));
    std::vector<T>().swap(records_);
    held_ = 0;
    claim_.Release();
  }

  template <typename Fn>
  void Merge(Fn& fn) {
    const size_t n = runs_.size() + 1;  // the records in memory are the last
    std::vector<T> heads(n);
    size_t next = 0;
    auto advance = [&](size_t s) {
      if (s < runs_.size()) return runs_[s]->Next(heads[s]);
      if (next == records_.size()) return false;
      heads[s] = std::move(records_[next++]);
      return true;
    };
    auto later = [&](size_t a, size_t b) {
      if (before_(heads[a], heads[b])) return false;
      if (before_(heads[b], heads[a])) return true;
      return a > b;
    };
    std::priority_queue<size_t, std::vector<size_t>, decltype(later)> queue(later);
    for (size_t s = 0; s < n; ++s) {
      if (advance(s)) queue.push(s);
    }
    uint64_t emitted = 0;
    while (!queue.empty()) {
      const size_t s = queue.top();
      queue.pop();
      if (++emitted % kCancelCheckEvery == 0) tc_.CheckCancelled();
      fn(heads[s]);
      if (advance(s)) queue.push(s);
    }
    runs_.clear();
  }

  TaskContext& tc_;
  Before before_;
  MemoryClaim claim_;
  std::vector<T> records_;
  uint64_t held_ = 0;  // what the records own beyond the array
  std::vector<std::unique_ptr<RunReader<T>>> runs_;
};

}  // namespace ember::internal
