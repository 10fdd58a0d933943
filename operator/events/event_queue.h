// Sends Events in the background, so that a controller's reconcile workers
// never wait on the API server to say what they did.
//
// Post() copies what the Event needs and returns at once. A fixed set of
// sender threads drains the queue through an EventRecorder (aggregation of
// repeats included). The queue is bounded: when it is full, Post() drops the
// event and counts it, since an Event is advice to people and must never
// hold back the work it describes. Failures to send are logged and counted,
// not retried (the next transition says more than a stale one).
//
// Thread-safety: Post() and the counters may be used from any thread.
// Stop() (also run by the destructor) stops accepting, sends what is queued
// until `drain_timeout` passes, drops the rest and joins the senders.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "operator/events/event_recorder.h"

namespace ember::kube {

struct EventQueueOptions {
  size_t capacity = 4096;
  int senders = 2;
  std::chrono::milliseconds drain_timeout{2000};
};

class EventQueue {
 public:
  // `recorder` must outlive the queue.
  EventQueue(EventRecorder* recorder, EventQueueOptions options = {});
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // `involved` as for EventRecorder::Record; only its identifying fields are
  // kept. False when the event was dropped (queue full or stopped).
  bool Post(const nlohmann::json& involved, EventType type, std::string reason,
            std::string message);
  void Stop();

  uint64_t sent() const { return sent_.load(); }
  uint64_t failed() const { return failed_.load(); }
  uint64_t dropped() const { return dropped_.load(); }

 private:
  struct Pending {
    nlohmann::json involved;
    EventType type;
    std::string reason;
    std::string message;
  };
  void Send();

  EventRecorder* const recorder_;
  const EventQueueOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::vector<std::thread> senders_;
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace ember::kube
