// The live progress line ember-submit shows on a terminal, like Spark's
//   [Stage 1:=========>          (3 + 2) / 10]
// (done + running) / total, per running stage.
//
// Thread-safety: ProgressBar owns one thread; construct and destroy it on
// the same thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/scheduler/scheduler.h"

namespace ember {

// Renders the line for `stages` within `width` columns (no carriage return).
std::string RenderProgress(const std::vector<scheduler::StageProgress>& stages, size_t width);

class ProgressBar {
 public:
  // Polls `source` every refresh period and redraws `out` in place.
  ProgressBar(std::function<std::vector<scheduler::StageProgress>()> source, std::FILE* out);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Erases the line now, so that output printed after a job does not land
  // on the same line as the stale progress of that job.
  void Clear();

 private:
  void Loop();
  void EraseLocked();
  std::function<std::vector<scheduler::StageProgress>()> source_;
  std::FILE* out_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::string shown_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace ember
