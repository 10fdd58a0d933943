#include "runtime/driver/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace ember {
namespace {
constexpr auto kRefresh = std::chrono::milliseconds(200);
constexpr size_t kDefaultWidth = 80;
constexpr size_t kMinBarWidth = 10;
}  // namespace

std::string RenderProgress(const std::vector<scheduler::StageProgress>& stages, size_t width) {
  if (stages.empty()) return std::string();
  // Each stage gets an equal share of the line.
  const size_t share = std::max<size_t>(width / stages.size(), 1);
  std::string line;
  for (const auto& s : stages) {
    std::string head = "[Stage ";
    head += std::to_string(s.stage_id);
    head += ':';
    std::string tail = "(";
    tail += std::to_string(s.done);
    tail += " + ";
    tail += std::to_string(s.running);
    tail += ") / ";
    tail += std::to_string(s.total);
    tail += ']';
    const size_t fixed = head.size() + tail.size();
    size_t bar = share > fixed ? share - fixed : 0;
    if (bar < kMinBarWidth) bar = 0;
    std::string part = head;
    if (bar > 0 && s.total > 0) {
      const size_t filled = bar * s.done / s.total;
      part.append(filled, '=');
      if (filled < bar) {
        part.push_back('>');
        part.append(bar - filled - 1, ' ');
      }
    }
    part += tail;
    line += part;
  }
  if (line.size() > width) line.resize(width);
  return line;
}

ProgressBar::ProgressBar(std::function<std::vector<scheduler::StageProgress>()> source,
                         std::FILE* out)
    : source_(std::move(source)), out_(out), thread_([this] { Loop(); }) {}

ProgressBar::~ProgressBar() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ProgressBar::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  EraseLocked();
}

void ProgressBar::EraseLocked() {
  if (shown_.empty()) return;
  std::string blank(shown_.size() + 2, ' ');
  blank.front() = '\r';
  blank.back() = '\r';
  std::fputs(blank.c_str(), out_);
  std::fflush(out_);
  shown_.clear();
}

void ProgressBar::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, kRefresh, [this] { return stop_; })) {
    winsize ws{};
    const size_t width = ::ioctl(::fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0
                             ? ws.ws_col - 1
                             : kDefaultWidth;
    std::string line = RenderProgress(source_(), width);
    if (line == shown_) continue;
    if (line.empty()) {
      EraseLocked();
      continue;
    }
    // Pad with spaces so a shorter line fully covers the previous one.
    std::string out(1, '\r');
    out += line;
    if (line.size() < shown_.size()) out.append(shown_.size() - line.size(), ' ');
    std::fputs(out.c_str(), out_);
    std::fflush(out_);
    shown_ = std::move(line);
  }
  EraseLocked();
}
}  // namespace ember
