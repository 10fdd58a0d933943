#include "runtime/ui/history.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "common/log.h"
#include "runtime/events/event_log.h"

namespace ember::ui {

namespace {
// Requests within this long of a scan reuse it: the UI polls every second.
constexpr auto kRescanEvery = std::chrono::milliseconds(500);
}  // namespace

HistorySource::HistorySource(std::string dir, AppStore::Limits limits)
    : dir_(std::move(dir)), limits_(limits) {}

void HistorySource::RefreshLocked() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_refresh_ < kRescanEvery) return;
  last_refresh_ = now;
  std::set<std::string> seen;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string path = entry.path().string();
    const std::string in_progress =
        std::string(events::kEventLogSuffix) + events::kInProgressSuffix;
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
    if (!log.store || size < log.offset) {
      // New, not a log yet, or rewritten: from the start.
      log.store = std::make_shared<AppStore>(limits_);
      log.offset = 0;
    }
    log.size = size;
    log.mtime = mtime;
    log.checked = true;
    if (!ReadMore(path, log)) {
      if (first_read && size > 0) {
        EMBER_LOG(kWarning) << path << ": not an event log (no ApplicationStart); skipped";
      }
      log.store.reset();
    }
  }
  if (ec) EMBER_LOG(kWarning) << "reading " << dir_ << ": " << ec.message();
  for (auto it = logs_.begin(); it != logs_.end();) {
    it = seen.count(it->first) > 0 ? std::next(it) : logs_.erase(it);
  }
}

bool HistorySource::ReadMore(const std::string& path, Log& log) {
  auto read = events::ReadEventLog(
      path, [&](events::Event&& e) { log.store->OnEvent(e); }, log.offset);
  if (!read.ok()) {
    EMBER_LOG(kWarning) << read.status().message();
    return false;
  }
  log.offset = read->end_offset;
  return !log.store->app_id().empty();
}

std::vector<std::shared_ptr<const AppStore>> HistorySource::List() {
  std::lock_guard<std::mutex> lock(mu_);
  RefreshLocked();
  std::map<std::string, std::shared_ptr<const AppStore>> by_id;
  for (const auto& [path, log] : logs_) {
    if (!log.store) continue;
    auto& slot = by_id[log.store->app_id()];
    // The finished log wins over an .inprogress one left behind.
    if (!slot || (!slot->completed() && log.store->completed())) slot = log.store;
  }
  std::vector<std::shared_ptr<const AppStore>> out;
  for (auto& [id, store] : by_id) out.push_back(std::move(store));
  std::reverse(out.begin(), out.end());  // ids start with the time: newest first
  return out;
}

std::shared_ptr<const AppStore> HistorySource::Find(const std::string& app_id) {
  for (auto& store : List()) {
    if (store->app_id() == app_id) return store;
  }
  return nullptr;
}

}  // namespace ember::ui
