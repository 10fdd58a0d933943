// Resource addressing and request building for the Kubernetes REST API.
//
// This is the bottom floor of Ember's Kubernetes client: pure values and pure
// functions, no I/O. Each Build* function turns an operation (get, list,
// create, ...) on a resource addressed by group, version and resource into an
// HttpRequest (method, path, query, body) that the transport layer sends as
// is. Keeping this free of I/O lets the URL rules be unit-tested without a
// server.
//
// Thread-safety: all types are plain values; all functions are pure and may
// be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ember/status.h"

namespace ember::kube {

// Addresses a collection: core resources have an empty group ("/api/v1/..."),
// all others live under "/apis/<group>/<version>/...". `namespaced` is false
// for cluster-scoped resources such as namespaces or CRDs.
struct GroupVersionResource {
  std::string group;
  std::string version;
  std::string resource;  // plural, lower case: "configmaps"
  bool namespaced = true;

  // "v1" for the core group, "<group>/<version>" otherwise: the apiVersion
  // field of the objects in this collection.
  std::string ApiVersion() const;
  friend bool operator==(const GroupVersionResource&, const GroupVersionResource&) = default;
};

// The resources the operator library itself uses; anything else is spelled
// out by the caller.
namespace resources {
GroupVersionResource ConfigMaps();
GroupVersionResource Secrets();
GroupVersionResource Pods();
GroupVersionResource Services();
GroupVersionResource ServiceAccounts();
GroupVersionResource Namespaces();
GroupVersionResource Events();
GroupVersionResource Leases();
GroupVersionResource Roles();
GroupVersionResource RoleBindings();
GroupVersionResource CustomResourceDefinitions();
}  // namespace resources

// Options for one list request (one page when `limit` is set).
struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  // 0 asks for everything at once; the server may still paginate.
  int64_t limit = 0;
  // The `metadata.continue` of the previous page.
  std::string continue_token;
  // Empty asks for a consistent (quorum) read, which is what an informer's
  // first list needs; "0" allows any cached version.
  std::string resource_version;
  std::string resource_version_match;
};

// Options for a watch request.
struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  // Events strictly after this version are delivered. Empty means "from
  // now", which loses events and is not what an informer wants.
  std::string resource_version;
  // Bookmarks let the client advance its resourceVersion during quiet
  // periods, so a reconnect after a long idle stretch does not hit 410 Gone.
  bool allow_bookmarks = true;
  // The server ends the watch cleanly after this many seconds. The client
  // also uses it to detect a watch that has gone silent.
  int timeout_seconds = 300;
  // Client side: a watch that delivers nothing (not even its clean end) for
  // timeout_seconds + silence_margin_seconds is declared dead, which catches
  // a half-open connection. The margin covers the server's lag in closing.
  int silence_margin_seconds = 30;
};

enum class PropagationPolicy { kUnset, kOrphan, kBackground, kForeground };

struct DeleteOptions {
  PropagationPolicy propagation_policy = PropagationPolicy::kUnset;
  std::optional<int64_t> grace_period_seconds;
  // Preconditions: the delete fails with 409 when the object has moved on.
  std::string precondition_resource_version;
  std::string precondition_uid;

  // The DeleteOptions body; empty object when nothing is set.
  nlohmann::json ToJson() const;
};

// Server-side apply: the field manager owns the fields it sends.
struct ApplyOptions {
  std::string field_manager = "ember";
  // Take ownership of fields another manager owns instead of failing with 409.
  bool force = false;
};

struct HttpRequest {
  std::string method;  // "GET", "POST", "PUT", "PATCH", "DELETE"
  std::string path;    // "/api/v1/namespaces/default/configmaps/x"
  std::vector<std::pair<std::string, std::string>> query;  // not yet encoded
  std::string content_type;                                // empty: no body
  std::string body;
  // The API verb, for metrics and logs: get, list, watch, create, update,
  // patch, delete (a GET's verb depends on whether it names an object).
  std::string verb;

  // Path plus percent-encoded query string: what goes on the request line.
  std::string Target() const;
};

// RFC 3986 percent-encoding of everything except unreserved characters.
std::string PercentEncode(std::string_view text);

// "/api/v1/namespaces/<ns>/configmaps/<name>/<subresource>". `ns` is ignored
// for cluster-scoped resources and may be empty (all namespaces) for a
// namespaced collection; `name` and `subresource` may be empty.
Result<std::string> ResourcePath(const GroupVersionResource& gvr, std::string_view ns,
                                 std::string_view name, std::string_view subresource = {});

Result<HttpRequest> BuildGet(const GroupVersionResource& gvr, std::string_view ns,
                             std::string_view name, std::string_view subresource = {});
Result<HttpRequest> BuildList(const GroupVersionResource& gvr, std::string_view ns,
                              const ListOptions& options);
Result<HttpRequest> BuildWatch(const GroupVersionResource& gvr, std::string_view ns,
                               const WatchOptions& options);
// The namespace defaults to the object's metadata.namespace when `ns` is empty.
Result<HttpRequest> BuildCreate(const GroupVersionResource& gvr, std::string_view ns,
                                const nlohmann::json& object);
// PUT of the whole object (or of its status with subresource "status"); the
// object's metadata.resourceVersion makes it an optimistic-concurrency update.
Result<HttpRequest> BuildUpdate(const GroupVersionResource& gvr, const nlohmann::json& object,
                                std::string_view subresource = {});
Result<HttpRequest> BuildDelete(const GroupVersionResource& gvr, std::string_view ns,
                                std::string_view name, const DeleteOptions& options);
// JSON merge patch (RFC 7386).
Result<HttpRequest> BuildMergePatch(const GroupVersionResource& gvr, std::string_view ns,
                                    std::string_view name, const nlohmann::json& patch,
                                    std::string_view subresource = {});
// Server-side apply of `object` (must carry apiVersion, kind and name).
Result<HttpRequest> BuildApply(const GroupVersionResource& gvr, const nlohmann::json& object,
                               const ApplyOptions& options, std::string_view subresource = {});

// "<namespace>/<name>", or "<name>" for cluster-scoped objects: the key the
// informer's store and the work queue use.
std::string ObjectKey(const nlohmann::json& object);
// metadata.resourceVersion, or "" when absent.
std::string ResourceVersionOf(const nlohmann::json& object);

}  // namespace ember::kube
