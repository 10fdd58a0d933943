// Records Kubernetes Events (core/v1) about objects, aggregating repeats.
//
// Record() writes an Event whose involvedObject is the given object, with a
// type (Normal or Warning), a reason (UpperCamelCase, machine-readable) and a
// message (for people). A repeat of the same (object, type, reason, message)
// does not create another Event: the existing one's count goes up and its
// lastTimestamp moves, as `kubectl describe` shows ("x5 over 3m"). That keeps
// a controller stuck in a retry loop from flooding etcd.
//
// The aggregation cache is per recorder and bounded (kMaxCachedEvents);
// when full it is cleared, which at worst starts a fresh Event for a repeat.
// If the Event was deleted meanwhile (events expire after an hour by
// default), a new one is created.
//
// Thread-safety: Record() may be called from any thread, concurrently; each
// call makes one or two API requests synchronously, without holding a lock
// across them. Two concurrent repeats of one event may both create an Event
// or count once between them; either way nothing is lost that matters.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include <nlohmann/json.hpp>

#include "ember/status.h"
#include "operator/kube/client/client.h"

namespace ember::kube {

enum class EventType { kNormal, kWarning };

class EventRecorder {
 public:
  static constexpr size_t kMaxCachedEvents = 4096;

  // `component` is the Event's source.component (e.g. "ember-operator").
  // `client` must outlive the recorder.
  EventRecorder(Client* client, std::string component);

  // `involved` is the object as read from the API (apiVersion, kind and
  // metadata with name, namespace, uid, resourceVersion).
  Status Record(const nlohmann::json& involved, EventType type, std::string_view reason,
                std::string_view message);

 private:
  struct Seen {
    std::string event_name;
    std::string event_namespace;
    int64_t count = 0;
  };
  using Key = std::tuple<std::string, std::string, std::string, std::string>;

  Client* const client_;
  const std::string component_;
  std::mutex mu_;
  std::map<Key, Seen> seen_;
  std::atomic<uint64_t> sequence_{0};
};

}  // namespace ember::kube
