// The Kubernetes REST client: typed operations over HTTPS (cpprestsdk).
//
// Every operation addresses a resource by group, version and resource, so
// core objects (ConfigMaps, Leases) and custom resources go through the same
// calls. Objects are nlohmann::json, exactly as the API returns them.
//
// Errors: each call returns ApiResult<T>; a failure keeps the API's Status
// (code, reason, message), so callers test IsConflict(), IsNotFound()...
// Nothing throws: exceptions from cpprestsdk and JSON parsing are caught here
// and become ApiErrors.
//
// Retries: 429 responses, and 5xx responses to GET, are retried up to
// config.max_retries times with jittered exponential backoff
// (config.retry_min_delay doubling to retry_max_delay); a Retry-After header
// replaces the backoff delay. A write answered with a 5xx is retried only
// when the server sent Retry-After, since it may have been applied. A failure
// with no response at all (connection refused, reset, timeout) is retried only
// for GET, because a write may have been applied before the connection broke.
// A 401 with a token file re-reads the token once and retries.
//
// Watch: streams events to a callback as they arrive, decoding the chunked
// body incrementally; it returns when the server ends the stream, the
// callback asks to stop, the stop token fires, or an error occurs. A watch
// that receives nothing for timeout_seconds + 30 s is considered dead.
//
// Thread-safety: a Client may be used from any number of threads at once;
// concurrent watches are independent.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ember/status.h"
#include "operator/kube/config/config.h"
#include "operator/kube/core/api_error.h"
#include "operator/kube/core/resource.h"
#include "operator/kube/core/watch_event.h"

namespace ember::kube {

// Why a watch returned without an error.
enum class WatchEnd {
  kServerClosed,     // the server ended the stream (timeoutSeconds elapsed)
  kStoppedByCaller,  // the callback returned false
  kCancelled,        // the stop token fired
};

// All pages of a list, concatenated.
struct ListResult {
  std::vector<nlohmann::json> items;
  // The list's metadata.resourceVersion: where a watch resumes.
  std::string resource_version;
  int pages = 0;
};

// Per-call overrides of the client's defaults, for callers with a deadline
// of their own: a leader must not stay blocked in a renewal past its renew
// deadline, which the client's 30 s timeout and retries would allow.
struct CallOptions {
  // Inactivity timeout of this call, instead of config.request_timeout.
  std::optional<std::chrono::milliseconds> timeout;
  // Instead of config.max_retries; 0 sends the request once.
  std::optional<int> max_retries;
  // Cancels the request in flight and any wait between retries; the call
  // then fails with kCancelled (http_code 0).
  std::stop_token stop;
};

// Sees every request the client sends, once per attempt (retries count
// separately), for metrics. Called on the requesting thread; must be cheap
// and thread-safe.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // `verb` is HttpRequest::verb; `http_code` is 0 when no response arrived
  // (connection refused, timeout, cancelled). A watch reports when its
  // response headers arrive.
  virtual void OnRequest(std::string_view verb, int http_code, double seconds) = 0;
};

// For a process whose only TLS peer is an API server with a CA of its own
// (config.ca_pem): stops OpenSSL from loading the system CA bundle into
// every new connection. cpprestsdk calls set_default_verify_paths for each
// connection, and OpenSSL 3 takes tens of milliseconds to parse the ~140
// certificates of Debian's bundle each time, which dominated the operator's
// CPU when it opened connections for parallel requests. It points
// SSL_CERT_FILE at an empty file (overriding any setting: the process trusts
// only the configured CA for the API server, and nothing else); call
// it from main() before any thread starts, and only when `config` has a CA.
void SkipSystemCaBundle(const ClientConfig& config);

class Client {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };
  struct Impl;

 public:
  // For the factory only (the tag is private).
  Client(PrivateTag, std::unique_ptr<Impl> impl);
  // Validates the configuration (server URL, PEM material) up front.
  static Result<std::unique_ptr<Client>> FromConfig(ClientConfig config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientConfig& config() const;

  // Installs an observer (not owned; must outlive the client). Set it before
  // the client is shared between threads.
  void SetObserver(RequestObserver* observer);

  ApiResult<nlohmann::json> Get(const GroupVersionResource& gvr, std::string_view ns,
                                std::string_view name, std::string_view subresource = {});
  // One page: the List object, with metadata.continue when more remain.
  // `stop` cancels the request in flight and the waits between retries
  // (kCancelled), so a watcher being stopped never waits on the network.
  ApiResult<nlohmann::json> List(const GroupVersionResource& gvr, std::string_view ns,
                                 const ListOptions& options = {}, std::stop_token stop = {});
  // Follows continue tokens until the last page. A 410 means the snapshot the
  // continue token refers to was compacted; start over.
  ApiResult<ListResult> ListAll(const GroupVersionResource& gvr, std::string_view ns,
                                const ListOptions& options = {}, std::stop_token stop = {});
  ApiResult<nlohmann::json> Create(const GroupVersionResource& gvr, std::string_view ns,
                                   const nlohmann::json& object);
  // PUT; fails with 409 Conflict when metadata.resourceVersion is stale.
  ApiResult<nlohmann::json> Update(const GroupVersionResource& gvr, const nlohmann::json& object);
  // PUT to the status subresource: only .status changes.
  ApiResult<nlohmann::json> UpdateStatus(const GroupVersionResource& gvr,
                                         const nlohmann::json& object);
  // Returns the API's answer: the deleted object, or a Status when deletion
  // is still in progress.
  ApiResult<nlohmann::json> Delete(const GroupVersionResource& gvr, std::string_view ns,
                                   std::string_view name, const DeleteOptions& options = {});
  ApiResult<nlohmann::json> MergePatch(const GroupVersionResource& gvr, std::string_view ns,
                                       std::string_view name, const nlohmann::json& patch,
                                       std::string_view subresource = {});
  ApiResult<nlohmann::json> Apply(const GroupVersionResource& gvr, const nlohmann::json& object,
                                  const ApplyOptions& options = {},
                                  std::string_view subresource = {});

  // Sends a prepared request with the retry policy above; for requests the
  // typed calls do not cover (TokenRequest, say).
  ApiResult<nlohmann::json> Do(const HttpRequest& request);
  ApiResult<nlohmann::json> Do(const HttpRequest& request, const CallOptions& options);

  // Called for each event; return false to end the watch. ERROR events are
  // not passed on: they end the watch with their Status as the ApiError
  // (a 410 there means the resourceVersion expired).
  using WatchCallback = std::function<bool(WatchEvent&&)>;
  ApiResult<WatchEnd> Watch(const GroupVersionResource& gvr, std::string_view ns,
                            const WatchOptions& options, const WatchCallback& on_event,
                            std::stop_token stop = {});

  // Sends a GET whose body is a stream of something other than watch events
  // (a pod's log with follow=true) and passes each piece to `on_data` as it
  // arrives, until the server ends the body (kServerClosed), on_data returns
  // false (kStoppedByCaller) or `stop` fires (kCancelled). A stream silent
  // for `silence` counts as dead (a transport error). Not retried: a retry
  // would repeat what was already passed on.
  using StreamCallback = std::function<bool(std::string_view)>;
  ApiResult<WatchEnd> Stream(const HttpRequest& request, std::chrono::seconds silence,
                             const StreamCallback& on_data, std::stop_token stop = {});

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember::kube
