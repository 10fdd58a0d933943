// The web UI and its REST API over HTTP: the pages compiled into the binary
// (assets/) and /api/v1 answered from AppStores. The driver serves its own
// application; ember-history serves those of an event log directory.
//
// Thread-safety: requests are served concurrently; an AppSource must be
// thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "runtime/ui/app_store.h"

namespace ember::ui {

// Where the applications come from.
class AppSource {
 public:
  virtual ~AppSource() = default;
  // The /applications answer: one summary per application, newest first.
  virtual nlohmann::json Applications() = 0;
  // Null when there is no such application.
  virtual std::shared_ptr<const AppStore> Find(const std::string& app_id) = 0;
};

// The driver's one application.
class SingleAppSource : public AppSource {
 public:
  explicit SingleAppSource(std::shared_ptr<const AppStore> store) : store_(std::move(store)) {}
  nlohmann::json Applications() override { return nlohmann::json::array({store_->Application()}); }
  std::shared_ptr<const AppStore> Find(const std::string& app_id) override {
    return store_->app_id() == app_id ? store_ : nullptr;
  }

 private:
  std::shared_ptr<const AppStore> store_;
};

// Requests longer than this get 414.
inline constexpr size_t kMaxTargetBytes = 8192;

// Answers one request: a page, a static file, or /api/v1.
HttpReply HandleUiRequest(AppSource& source, const HttpRequest& request);

// Serves HandleUiRequest on bind_address:port, or, when that port is taken
// and `retries` > 0, on the next free one of the `retries` after it.
Result<std::unique_ptr<HttpServer>> StartUiServer(const std::string& bind_address, int port,
                                                  int retries, std::shared_ptr<AppSource> source);

}  // namespace ember::ui
