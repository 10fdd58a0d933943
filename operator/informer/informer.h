// The informer: a Watcher feeding a Store, with event handlers.
//
// Start() runs list-then-watch on a thread of the informer's own. Every
// watcher event is applied to the store first and then passed to the
// handlers, so a handler that reads the store sees at least the state the
// event describes. After a re-list (initial, or after 410 Gone) the store is
// replaced in one step and the handlers get the difference: on_add for new
// keys, on_update for keys whose resourceVersion changed, on_delete for keys
// that vanished. A 410 therefore costs a list but loses and duplicates
// nothing.
//
// HasSynced() turns true after the first complete list has been applied and
// its handlers have run; it never turns false again (later re-lists replace
// the store atomically, so it stays a consistent snapshot throughout).
//
// To cache less than whole objects, set WatcherOptions::transform.
//
// Thread-safety: handlers run on the informer's thread, one at a time, and
// must not block for long (hand work to a WorkQueue). store(), HasSynced(),
// WaitForSync() and stats() may be called from any thread. Start() and
// Stop() are called from the owner's thread; the destructor stops and joins.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "operator/informer/store.h"
#include "operator/watch/watcher.h"

namespace ember::kube {

struct InformerHandlers {
  std::function<void(const ObjectPtr& object)> on_add;
  std::function<void(const ObjectPtr& old_object, const ObjectPtr& new_object)> on_update;
  std::function<void(const ObjectPtr& object)> on_delete;
};

class Informer {
 public:
  // `client` must outlive the informer. `ns` empty: all namespaces.
  Informer(Client* client, GroupVersionResource gvr, std::string ns, WatcherOptions options,
           InformerHandlers handlers, std::unique_ptr<Backoff> backoff = DefaultWatchBackoff());
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void Start();
  // Stops the watch (cancelling an open request) and joins the thread.
  void Stop();

  bool HasSynced() const { return synced_.load(); }
  // True once synced; false if `timeout` passed first.
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  const Store& store() const { return store_; }
  WatcherStats stats() const { return watcher_.stats(); }

 private:
  void Handle(WatcherEvent&& event);

  Watcher watcher_;
  InformerHandlers handlers_;
  Store store_;
  std::atomic<bool> synced_{false};
  mutable std::mutex sync_mu_;
  mutable std::condition_variable sync_cv_;
  std::jthread thread_;
};

}  // namespace ember::kube
