// Runtime side of broadcast variables: how an executor fetches values it
// has not seen, and how the driver seeds its own process's cache.
//
// Thread-safety: all functions are safe to call concurrently.
#pragma once

#include <functional>

#include "common/status.h"
#include "ember/broadcast.h"

namespace ember::internal {

using BroadcastFetcher = std::function<Result<std::string>(uint64_t id)>;

// Installed by an executor process once it is connected to its driver.
void SetBroadcastFetcher(BroadcastFetcher fetcher);
// Drops every cached value (between tests, or when an application ends).
void ClearBroadcasts();

}  // namespace ember::internal
