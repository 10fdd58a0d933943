#include "operator/events/event_queue.h"

#include "common/log.h"
#include "operator/kube/core/json_util.h"

namespace ember::kube {
namespace {

using nlohmann::json;

// What an Event's involvedObject needs; the rest of the object (a whole
// spec and status) would only take up queue memory.
json Reference(const json& object) {
  const json& metadata = ObjectAt(object, "metadata");
  json ref = {{"apiVersion", StringAt(object, "apiVersion")},
              {"kind", StringAt(object, "kind")},
              {"metadata", {{"name", StringAt(metadata, "name")}}}};
  for (const char* field : {"namespace", "uid", "resourceVersion"}) {
    std::string value = StringAt(metadata, field);
    if (!value.empty()) ref["metadata"][field] = std::move(value);
  }
  return ref;
}

}  // namespace

EventQueue::EventQueue(EventRecorder* recorder, EventQueueOptions options)
    : recorder_(recorder), options_(options) {
  const int senders = options_.senders > 0 ? options_.senders : 1;
  for (int i = 0; i < senders; ++i) senders_.emplace_back([this] { Send(); });
}

EventQueue::~EventQueue() {
  Stop();
}

bool EventQueue::Post(const json& involved, EventType type, std::string reason,
                      std::string message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= options_.capacity) {
      dropped_.fetch_add(1);
      return false;
    }
    queue_.push_back(Pending{Reference(involved), type, std::move(reason), std::move(message)});
  }
  cv_.notify_one();
  return true;
}

void EventQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      drain_deadline_ = std::chrono::steady_clock::now() + options_.drain_timeout;
    }
  }
  cv_.notify_all();
  for (auto& sender : senders_) {
    if (sender.joinable()) sender.join();
  }
}

void EventQueue::Send() {
  while (true) {
    Pending next;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      if (stopping_ && std::chrono::steady_clock::now() > drain_deadline_) {
        dropped_.fetch_add(queue_.size());
        queue_.clear();
        return;
      }
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    Status st = recorder_->Record(next.involved, next.type, next.reason, next.message);
    if (st.ok()) {
      sent_.fetch_add(1);
    } else {
      failed_.fetch_add(1);
      EMBER_LOG(kWarning) << "event " << next.reason << " about "
                          << ObjectKey(next.involved) << " not sent: " << st.message();
    }
  }
}

}  // namespace ember::kube
