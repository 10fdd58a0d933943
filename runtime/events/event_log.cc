#include "runtime/events/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/log.h"

namespace ember::events {

namespace {

constexpr auto kFlushEvery = std::chrono::milliseconds(200);

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Events after which a reader most wants the file current.
bool IsBoundary(const Event& event) {
  return !std::holds_alternative<TaskStart>(event) && !std::holds_alternative<TaskEnd>(event);
}

}  // namespace

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
  std::string line = ToJson(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  if (file_ == nullptr) return;
  buffer_ += line;
  if (IsBoundary(event) || buffer_.size() >= (1u << 20)) FlushLocked();
}

void EventLogWriter::FlushLocked() {
  if (buffer_.empty() || file_ == nullptr) return;
  if (write_error_.ok()) {
    // Whole lines per write: a kill between writes leaves only whole lines.
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size() ||
        std::fflush(file_) != 0) {
      write_error_ = UnavailableError(Errno("writing event log " + path_));
      EMBER_LOG(kWarning) << write_error_.message() << "; later events are not logged";
    }
  }
  buffer_.clear();
}

void EventLogWriter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, kFlushEvery, [this] { return stop_; });
    FlushLocked();
  }
}

Status EventLogWriter::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (file_ == nullptr) return Status::Ok();
    stop_ = true;
  }
  cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  std::lock_guard<std::mutex> lock(mu_);
  FlushLocked();
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
                                 const std::function<void(Event&&)>& on_event) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(Errno("reading event log " + path));
  ReadSummary summary;
  std::string line;
  uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (in.eof()) {
      // No line break after it: the writer was stopped mid-line.
      summary.truncated_tail = true;
      break;
    }
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
