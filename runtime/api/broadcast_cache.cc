// Implements the process-wide broadcast cache of ember/broadcast.h.
#include <mutex>
#include <random>
#include <unordered_map>

#include "runtime/api/broadcast_cache.h"

namespace ember::internal {
namespace {

struct Cache {
  std::mutex mu;
  std::unordered_map<uint64_t, std::shared_ptr<const void>> values;
  BroadcastFetcher fetcher;
};

Cache& GetCache() {
  static Cache cache;
  return cache;
}

thread_local BroadcastPins* current_pins = nullptr;

}  // namespace

BroadcastPins::BroadcastPins() : previous_(current_pins) {
  current_pins = this;
}
BroadcastPins::~BroadcastPins() {
  current_pins = previous_;
}

void BroadcastPins::Pin(std::shared_ptr<const void> value) {
  if (current_pins != nullptr) current_pins->pinned_.push_back(std::move(value));
}

void DropBroadcast(uint64_t id) {
  Cache& c = GetCache();
  std::shared_ptr<const void> dropped;  // freed outside the lock
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.values.find(id);
  if (it == c.values.end()) return;
  dropped = std::move(it->second);
  c.values.erase(it);
}

uint64_t ProcessToken() {
  static const uint64_t token = [] {
    std::random_device rd;
    uint64_t t = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return t == 0 ? 1 : t;  // 0 marks "never cached"
  }();
  return token;
}

void SetBroadcastFetcher(BroadcastFetcher fetcher) {
  Cache& c = GetCache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.fetcher = std::move(fetcher);
}

void PutBroadcastValue(uint64_t id, std::shared_ptr<const void> value) {
  Cache& c = GetCache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.values[id] = std::move(value);
}

void ClearBroadcasts() {
  Cache& c = GetCache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.values.clear();
}

const void* BroadcastValue(uint64_t id, BroadcastDecoder decode) {
  Cache& c = GetCache();
  BroadcastFetcher fetcher;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.values.find(id);
    if (it != c.values.end()) {
      BroadcastPins::Pin(it->second);
      return it->second.get();
    }
    fetcher = c.fetcher;
  }
  if (!fetcher) Fail(NotFoundError("broadcast variable " + std::to_string(id) + " is unknown"));
  // Fetched without the lock: two threads may both fetch a value once, and
  // the first to finish wins; that is cheaper than serialising all misses.
  Result<std::string> bytes = fetcher(id);
  if (!bytes.ok()) Fail(bytes.status().WithContext("fetching broadcast " + std::to_string(id)));
  std::shared_ptr<const void> value = decode(*bytes);
  std::lock_guard<std::mutex> lock(c.mu);
  auto [it, inserted] = c.values.emplace(id, std::move(value));
  BroadcastPins::Pin(it->second);
  return it->second.get();
}

}  // namespace ember::internal
