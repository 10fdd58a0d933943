// The event log: an application's events as JSON lines in
// DIR/APP_ID.jsonl.inprogress, renamed to DIR/APP_ID.jsonl when it ends.
//
// Lines reach the file at every job and stage boundary and otherwise at
// least every 200 ms, whole lines at a time, so that a driver killed
// mid-job leaves a file whose complete lines are all events.
//
// Thread-safety: EventLogWriter is a Listener: OnEvent from one thread at a
// time; its own thread flushes in the background.
#pragma once

#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/events/events.h"

namespace ember::events {

inline constexpr const char* kEventLogSuffix = ".jsonl";
inline constexpr const char* kInProgressSuffix = ".inprogress";

class EventLogWriter : public Listener {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Creates `dir` when missing. ALREADY_EXISTS when a log of this app id is
  // there already; other errors name the path.
  static Result<std::unique_ptr<EventLogWriter>> Open(const std::string& dir,
                                                      const std::string& app_id);
  EventLogWriter(PrivateTag, std::FILE* file, std::string path, std::string final_path);
  ~EventLogWriter() override;
  EventLogWriter(const EventLogWriter&) = delete;
  EventLogWriter& operator=(const EventLogWriter&) = delete;

  void OnEvent(const Event& event) override;
  // Writes what is buffered, syncs, and renames the file to its final name.
  Status Close();
  const std::string& path() const { return path_; }

 private:
  void FlushLocked();
  void Loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::FILE* file_;  // guarded by mu_; null once closed
  std::string path_;
  std::string final_path_;
  std::string buffer_;  // guarded by mu_
  Status write_error_;  // guarded by mu_: the first failed write; later lines are dropped
  bool stop_ = false;   // guarded by mu_
  std::thread flusher_;
};

struct ReadSummary {
  uint64_t events = 0;
  uint64_t bad_lines = 0;       // not JSON, or not an event; logged and skipped
  bool truncated_tail = false;  // the last line had no line break: cut off
};

// Reads the log at `path`, handing each event to `on_event`. Bad lines are
// logged with their line number and skipped. Fails only when the file cannot
// be read.
Result<ReadSummary> ReadEventLog(const std::string& path,
                                 const std::function<void(Event&&)>& on_event);

}  // namespace ember::events
