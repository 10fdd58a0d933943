#include "operator/watch/watcher.h"

#include <condition_variable>
#include <exception>
#include <mutex>

#include "common/log.h"
#include "operator/kube/core/json_util.h"

namespace ember::kube {

using nlohmann::json;

Watcher::Watcher(Client* client, GroupVersionResource gvr, std::string ns, WatcherOptions options,
                 std::unique_ptr<Backoff> backoff)
    : client_(client),
      gvr_(std::move(gvr)),
      ns_(std::move(ns)),
      options_(std::move(options)),
      backoff_(std::move(backoff)) {}

bool IsVeryShortWatch(std::chrono::milliseconds lasted, uint64_t events,
                      std::chrono::milliseconds min_watch_duration) {
  return events == 0 && lasted < min_watch_duration;
}

WatcherStats Watcher::stats() const {
  WatcherStats s;
  s.lists = lists_.load();
  s.gone = gone_.load();
  s.watches = watches_.load();
  s.errors = errors_.load();
  s.events = events_.load();
  return s;
}

void Watcher::Wait(std::stop_token stop, std::chrono::milliseconds delay) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, stop, delay, [] { return false; });
}

void Watcher::Run(std::stop_token stop, const Sink& sink) {
  // A 410 normally re-lists at once; a second one in a row (a server that
  // keeps expiring us) goes through the backoff like any other error.
  bool previous_was_gone = false;
  while (!stop.stop_requested()) {
    bool relist_now = false;
    if (Step(stop, sink, &relist_now)) {
      previous_was_gone = false;
      continue;
    }
    if (stop.stop_requested()) break;
    if (relist_now && !previous_was_gone) {
      previous_was_gone = true;
      continue;
    }
    previous_was_gone = relist_now;
    Wait(stop, backoff_->Next());
  }
}

void Watcher::Deliver(const Sink& sink, WatcherEvent&& event) {
  // A throwing handler must not take the informer's thread, and so the
  // process, down with it. The event counts as delivered: retrying it would
  // only throw again and stall every later event behind it.
  try {
    sink(std::move(event));
  } catch (const std::exception& e) {
    ++errors_;
    EMBER_LOG(kError) << "watcher: event handler for " << gvr_.resource << " threw: " << e.what();
  } catch (...) {
    ++errors_;
    EMBER_LOG(kError) << "watcher: event handler for " << gvr_.resource << " threw";
  }
}

bool Watcher::Step(std::stop_token stop, const Sink& sink, bool* relist_now) {
  const std::string where = gvr_.resource + (ns_.empty() ? "" : " in " + ns_);
  switch (state_) {
    case State::kEmpty:
      buffered_.clear();
      continue_token_.clear();
      [[fallthrough]];
    case State::kInitPage: {
      ListOptions list_options;
      list_options.label_selector = options_.label_selector;
      list_options.field_selector = options_.field_selector;
      list_options.limit = options_.page_size;
      list_options.continue_token = continue_token_;
      ApiResult<json> page = client_->List(gvr_, ns_, list_options, stop);
      if (!page.ok()) {
        if (stop.stop_requested()) return false;  // cancelled, not failed
        ++errors_;
        if (page.error().IsGone()) {
          // The snapshot behind the continue token was compacted away.
          ++gone_;
          state_ = State::kEmpty;
          *relist_now = true;
        }
        EMBER_LOG(kWarning) << "watcher: listing " << where << ": " << page.status().ToString();
        return false;
      }
      json& list = *page;
      if (auto items = list.find("items"); items != list.end() && items->is_array()) {
        for (auto& item : *items) {
          buffered_.push_back(options_.transform ? options_.transform(std::move(item)) : std::move(item));
        }
      }
      const json& metadata = ObjectAt(list, "metadata");
      std::string next = StringAt(metadata, "continue");
      if (!next.empty()) {
        continue_token_ = std::move(next);
        state_ = State::kInitPage;
        return true;
      }
      resource_version_ = StringAt(metadata, "resourceVersion");
      continue_token_.clear();
      ++lists_;
      state_ = State::kInitListed;
      return true;
    }
    case State::kInitListed: {
      WatcherEvent event;
      event.kind = WatcherEvent::Kind::kRestarted;
      event.objects = std::move(buffered_);
      buffered_ = {};
      Deliver(sink, std::move(event));
      state_ = State::kWatching;
      return true;
    }
    case State::kWatching: {
      WatchOptions watch_options;
      watch_options.label_selector = options_.label_selector;
      watch_options.field_selector = options_.field_selector;
      watch_options.resource_version = resource_version_;
      watch_options.allow_bookmarks = options_.allow_bookmarks;
      watch_options.timeout_seconds = options_.watch_timeout_seconds;
      watch_options.silence_margin_seconds = options_.watch_silence_margin_seconds;
      ++watches_;
      const auto started = std::chrono::steady_clock::now();
      uint64_t received = 0;
      ApiResult<WatchEnd> end = client_->Watch(
          gvr_, ns_, watch_options,
          [&](WatchEvent&& event) {
            ++received;
            std::string rv = ResourceVersionOf(event.object);
            switch (event.type) {
              case WatchEventType::kAdded:
              case WatchEventType::kModified: {
                WatcherEvent out;
                out.kind = WatcherEvent::Kind::kApplied;
                out.object = options_.transform ? options_.transform(std::move(event.object))
                                                : std::move(event.object);
                ++events_;
                Deliver(sink, std::move(out));
                break;
              }
              case WatchEventType::kDeleted: {
                WatcherEvent out;
                out.kind = WatcherEvent::Kind::kDeleted;
                out.object = options_.transform ? options_.transform(std::move(event.object))
                                                : std::move(event.object);
                ++events_;
                Deliver(sink, std::move(out));
                break;
              }
              case WatchEventType::kBookmark:
              case WatchEventType::kError:
                break;
            }
            // Only after the event is delivered: a crash in between must
            // resume before it, not after.
            if (!rv.empty()) resource_version_ = std::move(rv);
            return true;
          },
          stop);
      if (end.ok()) {
        const auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        if (*end != WatchEnd::kServerClosed ||
            !IsVeryShortWatch(lasted, received, options_.min_watch_duration)) {
          return true;
        }
        ++errors_;
        EMBER_LOG(kWarning) << "watcher: watch of " << where << " ended after " << lasted.count()
                            << " ms with no events; backing off";
        return false;
      }
      ++errors_;
      if (end.error().IsGone()) {
        ++gone_;
        state_ = State::kEmpty;
        *relist_now = true;
        EMBER_LOG(kInfo) << "watcher: " << where << " at resourceVersion " << resource_version_
                         << " expired; re-listing";
        return false;
      }
      EMBER_LOG(kWarning) << "watcher: watching " << where << " from resourceVersion "
                          << resource_version_ << ": " << end.status().ToString();
      return false;
    }
  }
  return false;
}

}  // namespace ember::kube
