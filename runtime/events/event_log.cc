#include "runtime/events/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/log.h"

namespace ember::events {

namespace {

constexpr auto kFlushEvery = std::chrono::milliseconds(200);
constexpr size_t kMaxPending = 1 << 16;  // events

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Events after which a reader most wants the file current.
bool IsBoundary(const Event& event) {
  return !std::holds_alternative<TaskStart>(event) && !std::holds_alternative<TaskEnd>(event);
}

// A JSON string; plain ASCII directly, anything else through nlohmann, which
// escapes and replaces invalid UTF-8.
void AppendString(std::string& out, const std::string& s) {
  const bool plain = std::all_of(
      s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (plain) {
    out += '"';
    out += s;
    out += '"';
  } else {
    out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

template <typename T>
void AppendField(std::string& out, const char* name, T value) {
  out += ",\"";
  out += name;
  out += "\":";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, end);
}

}  // namespace

void AppendJsonLine(std::string& out, const Event& event) {
  // The two events of every task are most of a log: written by hand, as
  // ToJson would (ReadEventLog's round trip is tested against it).
  if (const auto* e = std::get_if<TaskStart>(&event)) {
    out += "{\"event\":\"TaskStart\"";
    AppendField(out, "time", e->time);
    AppendField(out, "taskId", e->task_id);
    AppendField(out, "stageId", e->stage_id);
    AppendField(out, "index", e->index);
    AppendField(out, "attempt", e->attempt);
    out += ",\"executorId\":";
    AppendString(out, e->executor_id);
    out += "}\n";
    return;
  }
  if (const auto* e = std::get_if<TaskEnd>(&event)) {
    const TaskMetrics& m = e->metrics;
    out += "{\"event\":\"TaskEnd\"";
    AppendField(out, "time", e->time);
    AppendField(out, "taskId", e->task_id);
    AppendField(out, "stageId", e->stage_id);
    out += ",\"status\":\"";
    out += TaskEndStateName(e->state);
    out += "\",\"error\":";
    AppendString(out, e->error);
    AppendField(out, "runSeconds", m.run_seconds);
    AppendField(out, "recordsIn", m.records_in);
    AppendField(out, "recordsOut", m.records_out);
    AppendField(out, "inputBytes", m.input_bytes);
    AppendField(out, "outputBytes", m.output_bytes);
    AppendField(out, "shuffleReadBytes", m.shuffle_read_bytes);
    AppendField(out, "shuffleWriteBytes", m.shuffle_write_bytes);
    AppendField(out, "spilledBytes", m.spilled_bytes);
    out += ",\"cached\":[";
    for (size_t i = 0; i < e->cached.size(); ++i) {
      const CachedBlock& b = e->cached[i];
      out += i == 0 ? "{" : ",{";
      out += "\"cacheId\":";
      out += std::to_string(b.cache_id);
      AppendField(out, "partition", b.partition);
      AppendField(out, "bytes", b.bytes);
      out += "}";
    }
    out += "]}\n";
    return;
  }
  out += ToJson(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += '\n';
}

Result<std::unique_ptr<EventLogWriter>> EventLogWriter::Open(const std::string& dir,
                                                             const std::string& app_id) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return UnavailableError("ember.eventLog.dir " + dir + ": cannot create it: " + ec.message());
  }
  const std::string final_path = dir + "/" + app_id + kEventLogSuffix;
  const std::string path = final_path + kInProgressSuffix;
  if (std::filesystem::exists(final_path, ec)) {
    return AlreadyExistsError("event log " + final_path + " exists already");
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return AlreadyExistsError("event log " + path + " exists already");
    return UnavailableError(Errno("ember.eventLog.dir: creating " + path));
  }
  std::FILE* file = ::fdopen(fd, "w");
  if (file == nullptr) {
    ::close(fd);
    return UnavailableError(Errno("opening " + path));
  }
  return std::make_unique<EventLogWriter>(PrivateTag(), file, path, final_path);
}

EventLogWriter::EventLogWriter(PrivateTag, std::FILE* file, std::string path,
                               std::string final_path)
    : file_(file), path_(std::move(path)), final_path_(std::move(final_path)) {
  flusher_ = std::thread([this] { Loop(); });
}

EventLogWriter::~EventLogWriter() {
  Status st = Close();
  if (!st.ok()) EMBER_LOG(kWarning) << "event log: " << st.message();
}

void EventLogWriter::OnEvent(const Event& event) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stop_) return;
  // Bounded: a writer that cannot keep up slows the scheduler rather than
  // holding every event.
  room_.wait(lock, [this] { return pending_.size() < kMaxPending || stop_; });
  pending_.push_back(event);
  if (IsBoundary(event) || pending_.size() >= kMaxPending / 4) {
    flush_now_ = true;
    cv_.notify_one();
  }
}

void EventLogWriter::Write(const std::string& text) {
  if (text.empty() || !write_error_.ok()) return;
  // Whole lines per write: a kill between writes leaves only whole lines.
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0) {
    write_error_ = UnavailableError(Errno("writing event log " + path_));
    EMBER_LOG(kWarning) << write_error_.message() << "; later events are not logged";
  }
}

void EventLogWriter::Loop() {
  // Events are turned into text here, off the scheduler's lock.
  std::vector<Event> batch;
  std::string text;
  for (;;) {
    bool stop = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, kFlushEvery, [this] { return stop_ || flush_now_; });
      flush_now_ = false;
      batch.swap(pending_);
      stop = stop_;
    }
    room_.notify_all();
    text.clear();
    for (const Event& e : batch) AppendJsonLine(text, e);
    batch.clear();
    Write(text);
    if (stop) return;
  }
}

Status EventLogWriter::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (file_ == nullptr) return Status::Ok();
    stop_ = true;
  }
  cv_.notify_all();
  room_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  Status st = write_error_;
  if (::fsync(::fileno(file_)) != 0 && st.ok()) st = UnavailableError(Errno("syncing " + path_));
  if (std::fclose(file_) != 0 && st.ok()) st = UnavailableError(Errno("closing " + path_));
  file_ = nullptr;
  if (::rename(path_.c_str(), final_path_.c_str()) != 0 && st.ok()) {
    st = UnavailableError(Errno("renaming " + path_ + " to " + final_path_));
  }
  return st;
}

Result<ReadSummary> ReadEventLog(const std::string& path,
                                 const std::function<void(Event&&)>& on_event, uint64_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(Errno("reading event log " + path));
  if (offset > 0 && !in.seekg(static_cast<std::streamoff>(offset))) {
    return UnavailableError("reading event log " + path + " from byte " + std::to_string(offset));
  }
  ReadSummary summary;
  summary.end_offset = offset;
  std::string line;
  uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (in.eof()) {
      // No line break after it: the writer was stopped mid-line, or is
      // still writing it.
      summary.truncated_tail = true;
      break;
    }
    summary.end_offset += line.size() + 1;
    if (line.empty()) continue;
    auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
      ++summary.bad_lines;
      EMBER_LOG(kWarning) << path << ":" << number << ": not JSON; line skipped";
      continue;
    }
    auto event = FromJson(json);
    if (!event.ok()) {
      ++summary.bad_lines;
      EMBER_LOG(kWarning) << path << ":" << number << ": " << event.status().message()
                          << "; line skipped";
      continue;
    }
    on_event(std::move(*event));
    ++summary.events;
  }
  if (in.bad()) return UnavailableError(Errno("reading event log " + path));
  return summary;
}

}  // namespace ember::events
