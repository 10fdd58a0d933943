// The applications of an event log directory, for ember-history: each log
// (finished, or still .inprogress) replayed into its own AppStore.
//
// The directory is scanned when a request needs it (at most twice a
// second). A new log is read whole; a log that grew is read from where the
// last read stopped, into the same store; one that shrank is read again.
// Files that are not event logs are logged once and skipped until they
// change.
//
// Memory stays bounded however many logs the directory holds: every log
// keeps only its application's summary (the /applications entry), and the
// full stores of at most `max_loaded` applications, the ones most recently
// asked for, stay in memory. Another is read again from its log when a
// request needs it, as Spark's history server does beyond
// spark.history.retainedApplications. The stores of logs that grew at the
// last scan and have not ended also stay, beyond that bound: reading them
// again from the start at every scan would cost far more, and there are
// only as many as applications running.
//
// Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/ui/ui_server.h"

namespace ember::ui {

class HistorySource : public AppSource {
 public:
  static constexpr size_t kDefaultMaxLoaded = 50;

  HistorySource(std::string dir, AppStore::Limits limits, size_t max_loaded = kDefaultMaxLoaded);
  nlohmann::json Applications() override;
  std::shared_ptr<const AppStore> Find(const std::string& app_id) override;

  // Applications whose full store is in memory now; for tests.
  size_t LoadedForTest();

 private:
  struct Log {
    uint64_t size = 0;
    int64_t mtime = 0;
    bool checked = false;  // read at this size and time
    bool is_log = false;   // it had an ApplicationStart
    bool growing = false;  // it grew at the last scan
    std::string app_id;
    bool completed = false;
    nlohmann::json summary;  // AppStore::Application() at the last read
    // Null when evicted; then `offset` is meaningless and a read starts over.
    std::shared_ptr<AppStore> store;
    uint64_t offset = 0;  // read up to here, into `store`
    uint64_t last_used = 0;
  };
  // Reads what `log` has not read of `path`, from the start when it has no
  // store; false when it is no event log.
  bool ReadMoreLocked(const std::string& path, Log& log);
  void RefreshLocked();
  // A store that eviction leaves alone and that the bound does not count.
  static bool Pinned(const Log& log) { return log.growing && !log.completed; }
  // Drops the least recently used stores beyond max_loaded_, except `keep`
  // and the pinned ones.
  void EvictLocked(const Log* keep);
  // Whether `candidate` serves its application rather than `current`: a
  // finished log wins over an .inprogress one left behind.
  static bool Prefer(const Log& candidate, const Log* current);
  // The path of `app_id`'s log, or null.
  const std::string* FindLocked(const std::string& app_id);

  const std::string dir_;
  const AppStore::Limits limits_;
  const size_t max_loaded_;
  std::mutex mu_;
  std::map<std::string, Log> logs_;  // by path
  uint64_t use_clock_ = 0;
  std::chrono::steady_clock::time_point last_refresh_{};
};

}  // namespace ember::ui
