// Runtime side of broadcast variables: how an executor fetches values it
// has not seen, and how the driver seeds its own process's cache.
//
// Thread-safety: all functions are safe to call concurrently.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ember/status.h"
#include "ember/broadcast.h"

namespace ember::internal {

using BroadcastFetcher = std::function<Result<std::string>(uint64_t id)>;

// Installed by an executor process once it is connected to its driver.
void SetBroadcastFetcher(BroadcastFetcher fetcher);
// Drops every cached value (between tests, or when an application ends).
void ClearBroadcasts();
// Drops one value: nothing can use it again. Tasks running with it keep
// their pinned copy (BroadcastPins).
void DropBroadcast(uint64_t id);

// While one is alive on a thread, every value that thread reads stays
// alive too, even if it is dropped meanwhile: a task runs under one, so a
// value freed by the driver never vanishes under a task still using it.
class BroadcastPins {
 public:
  BroadcastPins();
  ~BroadcastPins();
  BroadcastPins(const BroadcastPins&) = delete;
  BroadcastPins& operator=(const BroadcastPins&) = delete;
  static void Pin(std::shared_ptr<const void> value);

 private:
  BroadcastPins* previous_;
  std::vector<std::shared_ptr<const void>> pinned_;
};

}  // namespace ember::internal
