// The applications of an event log directory, for ember-history: each log
// (finished, or still .inprogress) replayed into its own AppStore.
//
// A log is read when a request first needs it and again when the file has
// changed (size or modification time). Files that are not event logs are
// logged once and skipped.
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
    std::shared_ptr<const AppStore> store;  // null: not an event log
  };
  void RefreshLocked();
  const std::string dir_;
  const AppStore::Limits limits_;
  std::mutex mu_;
  std::map<std::string, Log> logs_;  // by path
  std::chrono::steady_clock::time_point last_refresh_{};
};

}  // namespace ember::ui
