#include "runtime/ui/history.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>
#include <vector>

#include "common/log.h"
#include "runtime/events/event_log.h"

namespace ember::ui {

namespace {
// Requests within this long of a scan reuse it: the UI polls every second.
constexpr auto kRescanEvery = std::chrono::milliseconds(500);

// Replays `path` from `offset` into `store`; the offset just past what was
// read, or the error (already logged).
Result<uint64_t> ReadInto(const std::string& path, AppStore& store, uint64_t offset) {
  auto read = events::ReadEventLog(
      path, [&](events::Event&& e) { store.OnEvent(e); }, offset);
  if (!read.ok()) {
    EMBER_LOG(kWarning) << read.status().message();
    return read.status();
  }
  return read->end_offset;
}
}  // namespace

HistorySource::HistorySource(std::string dir, AppStore::Limits limits, size_t max_loaded)
    : dir_(std::move(dir)), limits_(limits), max_loaded_(std::max<size_t>(max_loaded, 1)) {}

void HistorySource::RefreshLocked() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_refresh_ < kRescanEvery) return;
  last_refresh_ = now;
  // The listing first, so that logs gone (an .inprogress renamed at its
  // end) are dropped before any eviction weighs them.
  std::vector<std::pair<std::string, struct stat>> found;
  std::error_code ec;
  const std::string in_progress = std::string(events::kEventLogSuffix) + events::kInProgressSuffix;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::string path = entry.path().string();
    if (!path.ends_with(events::kEventLogSuffix) && !path.ends_with(in_progress)) continue;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    found.emplace_back(std::move(path), st);
  }
  if (ec) EMBER_LOG(kWarning) << "reading " << dir_ << ": " << ec.message();
  std::set<std::string> seen;
  for (const auto& [path, st] : found) seen.insert(path);
  for (auto it = logs_.begin(); it != logs_.end();) {
    it = seen.count(it->first) > 0 ? std::next(it) : logs_.erase(it);
  }

  for (const auto& [path, st] : found) {
    Log& log = logs_[path];
    const auto size = static_cast<uint64_t>(st.st_size);
    const int64_t mtime =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (log.checked && log.size == size && log.mtime == mtime) {
      log.growing = false;
      continue;
    }
    const bool first_read = !log.checked;
    // Rewritten (shorter than what was read): from the start.
    if (log.store && size < log.offset) log.store.reset();
    log.size = size;
    log.mtime = mtime;
    log.checked = true;
    log.growing = ReadMoreLocked(path, log);
    if (!log.growing) {
      if (first_read && size > 0) {
        EMBER_LOG(kWarning) << path << ": not an event log (no ApplicationStart); skipped";
      }
      continue;
    }
    log.last_used = ++use_clock_;
    EvictLocked(&log);
  }
}

bool HistorySource::ReadMoreLocked(const std::string& path, Log& log) {
  if (!log.store) {
    log.store = std::make_shared<AppStore>(limits_);
    log.offset = 0;
  }
  AppStore& store = *log.store;
  auto end = ReadInto(path, store, log.offset);
  if (!end.ok() || store.app_id().empty()) {
    log.store.reset();
    log.is_log = false;
    return false;
  }
  log.offset = *end;
  log.is_log = true;
  log.app_id = store.app_id();
  log.completed = store.completed();
  log.summary = store.Application();
  return true;
}

void HistorySource::EvictLocked(const Log* keep) {
  const auto counted = [&](const Log& log) {
    return log.store != nullptr && &log != keep && !Pinned(log);
  };
  size_t loaded = 0;
  for (const auto& [path, log] : logs_) loaded += counted(log) ? 1 : 0;
  const bool keep_counts = keep != nullptr && keep->store != nullptr && !Pinned(*keep);
  const size_t room = max_loaded_ - (keep_counts ? 1 : 0);
  // Usually one over: a linear search for the oldest beats sorting them all.
  for (; loaded > room; --loaded) {
    Log* oldest = nullptr;
    for (auto& [path, log] : logs_) {
      if (counted(log) && (oldest == nullptr || log.last_used < oldest->last_used)) oldest = &log;
    }
    // A request still holding an evicted store keeps it alive until it ends.
    oldest->store.reset();
  }
}

bool HistorySource::Prefer(const Log& candidate, const Log* current) {
  return current == nullptr || (!current->completed && candidate.completed);
}

const std::string* HistorySource::FindLocked(const std::string& app_id) {
  const std::string* found = nullptr;
  const Log* found_log = nullptr;
  for (const auto& [path, log] : logs_) {
    if (log.is_log && log.app_id == app_id && Prefer(log, found_log)) {
      found = &path;
      found_log = &log;
    }
  }
  return found;
}

nlohmann::json HistorySource::Applications() {
  std::lock_guard<std::mutex> lock(mu_);
  RefreshLocked();
  std::map<std::string, const Log*> by_id;
  for (const auto& [path, log] : logs_) {
    if (!log.is_log) continue;
    const Log*& slot = by_id[log.app_id];
    if (Prefer(log, slot)) slot = &log;
  }
  nlohmann::json out = nlohmann::json::array();
  // Ids start with the time: newest first.
  for (auto it = by_id.rbegin(); it != by_id.rend(); ++it) {
    const Log& log = *it->second;
    if (log.store) {
      out.push_back(log.store->Application());
      continue;
    }
    nlohmann::json summary = log.summary;
    nlohmann::json& attempt = summary["attempts"][0];
    if (!log.completed) {
      attempt["duration"] = events::NowMillis() - attempt["startTimeEpoch"].get<events::Millis>();
    }
    out.push_back(std::move(summary));
  }
  return out;
}

std::shared_ptr<const AppStore> HistorySource::Find(const std::string& app_id) {
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    RefreshLocked();
    const std::string* found = FindLocked(app_id);
    if (found == nullptr) return nullptr;
    Log& log = logs_.at(*found);
    if (log.store) {
      log.last_used = ++use_clock_;
      EvictLocked(&log);
      return log.store;
    }
    path = *found;
  }
  // Evicted: read again from the start, without the lock, so that other
  // requests are answered meanwhile.
  auto store = std::make_shared<AppStore>(limits_);
  auto end = ReadInto(path, *store, 0);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = logs_.find(path);
  if (!end.ok() || store->app_id() != app_id) {
    // Changed under us, or unreadable for now: the next scan reads it again.
    if (it != logs_.end()) it->second.checked = false;
    return nullptr;
  }
  // Gone meanwhile (renamed at its end): this request still gets its answer.
  if (it == logs_.end()) return store;
  Log& log = it->second;
  if (!log.store) {
    // What the store has read, so the next scan carries on from there.
    log.store = std::move(store);
    log.offset = *end;
  }
  log.last_used = ++use_clock_;
  EvictLocked(&log);
  return log.store;
}

size_t HistorySource::LoadedForTest() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(std::count_if(
      logs_.begin(), logs_.end(), [](const auto& e) { return e.second.store != nullptr; }));
}

}  // namespace ember::ui
