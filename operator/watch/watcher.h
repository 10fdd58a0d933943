// The watcher: list, then watch, forever, as an explicit state machine.
//
// A Watcher keeps a consumer's view of one collection (a resource, optionally
// in one namespace, optionally filtered by selectors) current. It emits
// three kinds of event:
//   kRestarted  the complete current set of objects, after a (re-)list; the
//               consumer replaces everything it holds with it, atomically;
//   kApplied    an object was added or modified;
//   kDeleted    an object was deleted.
//
// States and transitions (as in kube-runtime's watcher):
//   kEmpty       -> list the first page              -> kInitPage or kInitListed
//   kInitPage    -> list the next page (continue)     -> kInitPage or kInitListed
//   kInitListed  -> emit kRestarted, open a watch     -> kWatching
//   kWatching    -> stream events; on clean end re-open from the last RV
// Errors:
//   410 Gone (expired resourceVersion or continue token) -> kEmpty: re-list.
//   anything else (transport, 5xx, a malformed or truncated event)
//     -> wait for the backoff, then resume in the same state; a watch resumes
//        from the last resourceVersion seen, so nothing is lost or repeated.
// Bookmarks only advance the resourceVersion. Pages of a list are buffered
// and emitted as one kRestarted, so a consumer never sees half a list.
//
// The backoff is injected (DefaultWatchBackoff(): 0.8 s doubling to 30 s with
// jitter, reset after 120 s without errors) and is consulted after every
// error except the first 410 of a streak, which re-lists at once.
//
// Thread-safety: Run() is called on one thread; stats() may be called from
// any thread at any time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "operator/kube/client/client.h"
#include "operator/kube/core/backoff.h"
#include "operator/kube/core/resource.h"

namespace ember::kube {

struct WatcherOptions {
  std::string label_selector;
  std::string field_selector;
  // Objects per list page; bounds the size of each response (client-go's 500).
  int64_t page_size = 500;
  // Server-side timeout of each watch request. Also bounds how long a silent
  // connection goes unnoticed (plus a 30 s margin, see Client::Watch).
  int watch_timeout_seconds = 300;
  // See WatchOptions::silence_margin_seconds.
  int watch_silence_margin_seconds = 30;
  bool allow_bookmarks = true;
  // A watch the server ends cleanly sooner than this, having delivered
  // nothing (not even a bookmark), counts as an error and goes through the
  // backoff, as in client-go's reflector: a server or proxy that closes
  // every watch at once would otherwise be hammered in a tight loop.
  std::chrono::milliseconds min_watch_duration{1000};
  // Rewrites each object as it arrives, before it is buffered or delivered,
  // e.g. to drop fields the consumer never reads (managedFields, a pod's
  // spec). Applied page by page, so a re-list never holds the untrimmed
  // collection at once; must be a pure function of its input.
  std::function<nlohmann::json(nlohmann::json&&)> transform;
};

// Whether a watch that ended cleanly after `lasted`, having delivered
// `events` events (bookmarks included), was suspiciously short.
bool IsVeryShortWatch(std::chrono::milliseconds lasted, uint64_t events,
                      std::chrono::milliseconds min_watch_duration);

struct WatcherEvent {
  enum class Kind { kRestarted, kApplied, kDeleted };
  Kind kind = Kind::kApplied;
  nlohmann::json object;                // kApplied, kDeleted
  std::vector<nlohmann::json> objects;  // kRestarted
};

// Counters for observability and tests; monotonic.
struct WatcherStats {
  uint64_t lists = 0;    // completed (all pages) lists
  uint64_t gone = 0;     // 410s that forced a re-list
  uint64_t watches = 0;  // watch requests opened
  uint64_t errors = 0;   // failed list or watch attempts (incl. 410)
  uint64_t events = 0;   // applied + deleted events delivered
};

class Watcher {
 public:
  enum class State { kEmpty, kInitPage, kInitListed, kWatching };

  using Sink = std::function<void(WatcherEvent&&)>;

  // `client` must outlive the watcher. `ns` empty: all namespaces.
  Watcher(Client* client, GroupVersionResource gvr, std::string ns, WatcherOptions options,
          std::unique_ptr<Backoff> backoff = DefaultWatchBackoff());

  // Runs until `stop` fires; calls `sink` on this thread, in order.
  void Run(std::stop_token stop, const Sink& sink);

  WatcherStats stats() const;

 private:
  // One step of the state machine; returns false when it failed and the
  // caller should back off (unless `*relist_now` is set).
  bool Step(std::stop_token stop, const Sink& sink, bool* relist_now);
  // Calls the sink; an exception from it is logged and counted as an error
  // rather than ending the thread (and with it the process).
  void Deliver(const Sink& sink, WatcherEvent&& event);
  void Wait(std::stop_token stop, std::chrono::milliseconds delay);

  Client* const client_;
  const GroupVersionResource gvr_;
  const std::string ns_;
  const WatcherOptions options_;
  std::unique_ptr<Backoff> backoff_;

  State state_ = State::kEmpty;
  std::string resource_version_;
  std::string continue_token_;
  std::vector<nlohmann::json> buffered_;

  std::atomic<uint64_t> lists_{0};
  std::atomic<uint64_t> gone_{0};
  std::atomic<uint64_t> watches_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> events_{0};
};

}  // namespace ember::kube
