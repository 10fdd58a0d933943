// The event log: an application's events as JSON lines in
// DIR/APP_ID.jsonl.inprogress, renamed to DIR/APP_ID.jsonl when it ends.
//
// OnEvent only queues the event: the writer's own thread turns events into
// lines and writes them, off the scheduler's lock, promptly after every job
// and stage boundary and otherwise at least every 200 ms, whole lines at a
// time, so that a driver killed mid-job leaves a file whose complete lines
// are all events. At most 65,536 events wait; past that OnEvent waits.
//
// Thread-safety: EventLogWriter is a Listener: OnEvent from one thread at a
// time.
#pragma once

#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
  // Writes what is queued, syncs, and renames the file to its final name.
  // Events after Close are dropped.
  Status Close();
  const std::string& path() const { return path_; }

 private:
  void Loop();
  void Write(const std::string& text);  // on the writer's thread
  std::mutex mu_;
  std::condition_variable cv_;    // the writer's thread waits here
  std::condition_variable room_;  // OnEvent waits here when the queue is full
  std::vector<Event> pending_;    // guarded by mu_
  bool flush_now_ = false;        // guarded by mu_
  bool stop_ = false;             // guarded by mu_
  // The writer's thread's own, and Close's after it joined.
  std::FILE* file_;
  Status write_error_;  // the first failed write; later lines are dropped
  std::string path_;
  std::string final_path_;
  std::thread flusher_;
};

// `event` as one JSON line (ToJson's object), appended to `out`.
void AppendJsonLine(std::string& out, const Event& event);

struct ReadSummary {
  uint64_t events = 0;
  uint64_t bad_lines = 0;       // not JSON, or not an event; logged and skipped
  bool truncated_tail = false;  // the last line had no line break: cut off
  uint64_t end_offset = 0;      // just past the last complete line
};

// Reads the log at `path` from byte `offset` (the start of a line: an
// earlier read's end_offset), handing each event to `on_event`. Bad lines
// are logged with their line number and skipped; a last line without its
// line break is left for a later read. Fails only when the file cannot be
// read.
Result<ReadSummary> ReadEventLog(const std::string& path,
                                 const std::function<void(Event&&)>& on_event, uint64_t offset = 0);

}  // namespace ember::events
