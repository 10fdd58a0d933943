#include "runtime/ui/history.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <vector>

#include "common/log.h"
#include "runtime/events/event_log.h"

namespace ember::ui {

namespace {
// Requests within this long of a scan reuse it: the UI polls every second.
constexpr auto kRescanEvery = std::chrono::milliseconds(500);
}  // namespace

HistorySource::HistorySource(std::string dir, AppStore::Limits limits, size_t max_loaded)
    : dir_(std::move(dir)), limits_(limits), max_loaded_(std::max<size_t>(max_loaded, 1)) {}

void HistorySource::RefreshLocked() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_refresh_ < kRescanEvery) return;
  last_refresh_ = now;
  std::set<std::string> seen;
  std::error_code ec;
  const std::string in_progress = std::string(events::kEventLogSuffix) + events::kInProgressSuffix;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string path = entry.path().string();
    if (!path.ends_with(events::kEventLogSuffix) && !path.ends_with(in_progress)) continue;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    seen.insert(path);
    Log& log = logs_[path];
    const auto size = static_cast<uint64_t>(st.st_size);
    const int64_t mtime =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (log.checked && log.size == size && log.mtime == mtime) continue;
    const bool first_read = !log.checked;
    // Rewritten (shorter than what was read): from the start.
    if (log.store && size < log.offset) log.store.reset();
    log.size = size;
    log.mtime = mtime;
    log.checked = true;
    if (!ReadMoreLocked(path, log)) {
      if (first_read && size > 0) {
        EMBER_LOG(kWarning) << path << ": not an event log (no ApplicationStart); skipped";
      }
      continue;
    }
    // A log that is being written counts as used, so that the logs of
    // running applications stay loaded rather than being read again from
    // the start at every scan.
    log.last_used = ++use_clock_;
    EvictLocked(&log);
  }
  if (ec) EMBER_LOG(kWarning) << "reading " << dir_ << ": " << ec.message();
  for (auto it = logs_.begin(); it != logs_.end();) {
    it = seen.count(it->first) > 0 ? std::next(it) : logs_.erase(it);
  }
}

bool HistorySource::ReadMoreLocked(const std::string& path, Log& log) {
  if (!log.store) {
    log.store = std::make_shared<AppStore>(limits_);
    log.offset = 0;
  }
  AppStore& store = *log.store;
  auto read = events::ReadEventLog(
      path, [&](events::Event&& e) { store.OnEvent(e); }, log.offset);
  if (!read.ok()) EMBER_LOG(kWarning) << read.status().message();
  if (!read.ok() || store.app_id().empty()) {
    log.store.reset();
    log.is_log = false;
    return false;
  }
  log.offset = read->end_offset;
  log.is_log = true;
  log.app_id = store.app_id();
  log.completed = store.completed();
  log.summary = store.Application();
  return true;
}

void HistorySource::EvictLocked(const Log* keep) {
  std::vector<Log*> loaded;
  for (auto& [path, log] : logs_) {
    if (log.store && &log != keep) loaded.push_back(&log);
  }
  const size_t others = max_loaded_ - (keep != nullptr && keep->store ? 1 : 0);
  if (loaded.size() <= others) return;
  std::sort(loaded.begin(), loaded.end(),
            [](const Log* a, const Log* b) { return a->last_used < b->last_used; });
  // A request still holding an evicted store keeps it alive until it ends.
  for (size_t i = 0; i < loaded.size() - others; ++i) loaded[i]->store.reset();
}

HistorySource::Log* HistorySource::FindLocked(const std::string& app_id) {
  Log* found = nullptr;
  for (auto& [path, log] : logs_) {
    if (!log.is_log || log.app_id != app_id) continue;
    if (found == nullptr || (!found->completed && log.completed)) found = &log;
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
    // The finished log wins over an .inprogress one left behind.
    if (slot == nullptr || (!slot->completed && log.completed)) slot = &log;
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
  std::lock_guard<std::mutex> lock(mu_);
  RefreshLocked();
  Log* log = FindLocked(app_id);
  if (log == nullptr) return nullptr;
  if (!log->store) {
    // Evicted: read again from the start.
    auto it = std::find_if(logs_.begin(), logs_.end(),
                           [&](const auto& entry) { return &entry.second == log; });
    if (!ReadMoreLocked(it->first, *log) || log->app_id != app_id) return nullptr;
  }
  log->last_used = ++use_clock_;
  EvictLocked(log);
  return log->store;
}

size_t HistorySource::LoadedForTest() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(std::count_if(
      logs_.begin(), logs_.end(), [](const auto& e) { return e.second.store != nullptr; }));
}

}  // namespace ember::ui
