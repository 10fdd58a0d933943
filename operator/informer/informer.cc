#include "operator/informer/informer.h"

namespace ember::kube {

Informer::Informer(Client* client, GroupVersionResource gvr, std::string ns, WatcherOptions options,
                   InformerHandlers handlers, std::unique_ptr<Backoff> backoff)
    : watcher_(client, std::move(gvr), std::move(ns), std::move(options), std::move(backoff)),
      handlers_(std::move(handlers)) {}

Informer::~Informer() {
  Stop();
}

void Informer::Start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) {
    watcher_.Run(stop, [this](WatcherEvent&& event) { Handle(std::move(event)); });
  });
}

void Informer::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(sync_mu_);
  return sync_cv_.wait_for(lock, timeout, [this] { return synced_.load(); });
}

void Informer::Handle(WatcherEvent&& event) {
  switch (event.kind) {
    case WatcherEvent::Kind::kRestarted: {
      std::vector<Store::Change> changes = store_.Replace(std::move(event.objects));
      for (const auto& change : changes) {
        if (!change.old_object) {
          if (handlers_.on_add) handlers_.on_add(change.new_object);
        } else if (!change.new_object) {
          if (handlers_.on_delete) handlers_.on_delete(change.old_object);
        } else if (handlers_.on_update) {
          handlers_.on_update(change.old_object, change.new_object);
        }
      }
      if (!synced_.load()) {
        std::lock_guard<std::mutex> lock(sync_mu_);
        synced_.store(true);
        sync_cv_.notify_all();
      }
      break;
    }
    case WatcherEvent::Kind::kApplied: {
      std::string key = ObjectKey(event.object);
      ObjectPtr old = store_.Apply(std::move(event.object));
      ObjectPtr current = store_.Get(key);
      if (!current) break;
      if (!old) {
        if (handlers_.on_add) handlers_.on_add(current);
      } else if (handlers_.on_update) {
        handlers_.on_update(old, current);
      }
      break;
    }
    case WatcherEvent::Kind::kDeleted: {
      store_.Remove(event.object);
      if (!handlers_.on_delete) break;
      // The deleted object's final state, as the API sent it, is newer than
      // what the store held.
      handlers_.on_delete(std::make_shared<const nlohmann::json>(std::move(event.object)));
      break;
    }
  }
}

}  // namespace ember::kube
