// The applications of an event log directory, for ember-history: each log
// (finished, or still .inprogress) replayed into its own AppStore.
//
// The directory is scanned when a request needs it (at most twice a
// second). A new log is read whole; a log that grew is read from where the
// last read stopped, into the same store; one that shrank is read again.
// Files that are not event logs are logged once and skipped until they
// change.
//
// Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "runtime/ui/ui_server.h"

namespace ember::ui {

class HistorySource : public AppSource {
 public:
  HistorySource(std::string dir, AppStore::Limits limits);
  std::vector<std::shared_ptr<const AppStore>> List() override;
  std::shared_ptr<const AppStore> Find(const std::string& app_id) override;

 private:
  struct Log {
    uint64_t size = 0;
    int64_t mtime = 0;
    uint64_t offset = 0;              // read up to here
    bool checked = false;             // read at this size and time
    std::shared_ptr<AppStore> store;  // null: not an event log
  };
  // Reads what `log` has not read of `path`; false when it is no log.
  bool ReadMore(const std::string& path, Log& log);
  void RefreshLocked();
  const std::string dir_;
  const AppStore::Limits limits_;
  std::mutex mu_;
  std::map<std::string, Log> logs_;  // by path
  std::chrono::steady_clock::time_point last_refresh_{};
};

}  // namespace ember::ui
