#include "operator/kube/core/resource.h"

#include "operator/kube/core/json_util.h"

namespace ember::kube {
namespace {

using nlohmann::json;

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kMergePatch = "application/merge-patch+json";
constexpr std::string_view kApplyPatch = "application/apply-patch+yaml";

std::string StringField(const json& object, std::string_view a, std::string_view b) {
  if (!object.is_object()) return {};
  auto outer = object.find(a);
  if (outer == object.end() || !outer->is_object()) return {};
  auto inner = outer->find(b);
  if (inner == outer->end() || !inner->is_string()) return {};
  return inner->get<std::string>();
}

// Names are path segments; a "/" or ".." in one would address another object.
Status CheckSegment(std::string_view what, std::string_view value) {
  if (value.find('/') != std::string_view::npos || value == "." || value == "..") {
    return InvalidArgumentError(std::string(what) + " \"" + std::string(value) +
                                "\" is not a valid path segment");
  }
  return Status::Ok();
}

}  // namespace

std::string GroupVersionResource::ApiVersion() const {
  return group.empty() ? version : group + "/" + version;
}

namespace resources {
GroupVersionResource ConfigMaps() {
  return {"", "v1", "configmaps", true};
}
GroupVersionResource Secrets() {
  return {"", "v1", "secrets", true};
}
GroupVersionResource Pods() {
  return {"", "v1", "pods", true};
}
GroupVersionResource Services() {
  return {"", "v1", "services", true};
}
GroupVersionResource ServiceAccounts() {
  return {"", "v1", "serviceaccounts", true};
}
GroupVersionResource Namespaces() {
  return {"", "v1", "namespaces", false};
}
GroupVersionResource Events() {
  return {"", "v1", "events", true};
}
GroupVersionResource Leases() {
  return {"coordination.k8s.io", "v1", "leases", true};
}
GroupVersionResource Roles() {
  return {"rbac.authorization.k8s.io", "v1", "roles", true};
}
GroupVersionResource RoleBindings() {
  return {"rbac.authorization.k8s.io", "v1", "rolebindings", true};
}
GroupVersionResource CustomResourceDefinitions() {
  return {"apiextensions.k8s.io", "v1", "customresourcedefinitions", false};
}
}  // namespace resources

json DeleteOptions::ToJson() const {
  json body = json::object();
  switch (propagation_policy) {
    case PropagationPolicy::kUnset:
      break;
    case PropagationPolicy::kOrphan:
      body["propagationPolicy"] = "Orphan";
      break;
    case PropagationPolicy::kBackground:
      body["propagationPolicy"] = "Background";
      break;
    case PropagationPolicy::kForeground:
      body["propagationPolicy"] = "Foreground";
      break;
  }
  if (grace_period_seconds) body["gracePeriodSeconds"] = *grace_period_seconds;
  if (!precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = precondition_resource_version;
  }
  if (!precondition_uid.empty()) body["preconditions"]["uid"] = precondition_uid;
  if (!body.empty()) {
    body["apiVersion"] = "v1";
    body["kind"] = "DeleteOptions";
  }
  return body;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string HttpRequest::Target() const {
  std::string target = path;
  char sep = '?';
  for (const auto& [key, value] : query) {
    target.push_back(sep);
    target += PercentEncode(key);
    target.push_back('=');
    target += PercentEncode(value);
    sep = '&';
  }
  return target;
}

Result<std::string> ResourcePath(const GroupVersionResource& gvr, std::string_view ns,
                                 std::string_view name, std::string_view subresource) {
  if (gvr.version.empty() || gvr.resource.empty()) {
    return InvalidArgumentError("resource \"" + gvr.resource + "\" needs a version and a name");
  }
  RETURN_IF_ERROR(CheckSegment("namespace", ns));
  RETURN_IF_ERROR(CheckSegment("name", name));
  RETURN_IF_ERROR(CheckSegment("subresource", subresource));
  if (!subresource.empty() && name.empty()) {
    return InvalidArgumentError("subresource \"" + std::string(subresource) + "\" needs a name");
  }
  std::string path =
      gvr.group.empty() ? "/api/" + gvr.version : "/apis/" + gvr.group + "/" + gvr.version;
  if (gvr.namespaced && !ns.empty()) {
    path += "/namespaces/";
    path += ns;
  }
  path += "/" + gvr.resource;
  if (!name.empty()) {
    path += "/";
    path += name;
  }
  if (!subresource.empty()) {
    path += "/";
    path += subresource;
  }
  return path;
}

Result<HttpRequest> BuildGet(const GroupVersionResource& gvr, std::string_view ns,
                             std::string_view name, std::string_view subresource) {
  if (name.empty()) return InvalidArgumentError("get needs a name");
  ASSIGN_OR_RETURN(std::string path, ResourcePath(gvr, ns, name, subresource));
  return HttpRequest{"GET", std::move(path), {}, {}, {}, "get"};
}

Result<HttpRequest> BuildList(const GroupVersionResource& gvr, std::string_view ns,
                              const ListOptions& options) {
  ASSIGN_OR_RETURN(std::string path, ResourcePath(gvr, ns, {}));
  HttpRequest request{"GET", std::move(path), {}, {}, {}, "list"};
  auto& q = request.query;
  if (!options.label_selector.empty()) q.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) q.emplace_back("fieldSelector", options.field_selector);
  if (options.limit < 0) return InvalidArgumentError("list limit must not be negative");
  if (options.limit > 0) q.emplace_back("limit", std::to_string(options.limit));
  if (!options.continue_token.empty()) q.emplace_back("continue", options.continue_token);
  if (!options.resource_version.empty()) {
    q.emplace_back("resourceVersion", options.resource_version);
  }
  if (!options.resource_version_match.empty()) {
    q.emplace_back("resourceVersionMatch", options.resource_version_match);
  }
  return request;
}

Result<HttpRequest> BuildWatch(const GroupVersionResource& gvr, std::string_view ns,
                               const WatchOptions& options) {
  ASSIGN_OR_RETURN(std::string path, ResourcePath(gvr, ns, {}));
  if (options.timeout_seconds <= 0) return InvalidArgumentError("watch timeout must be positive");
  HttpRequest request{"GET", std::move(path), {}, {}, {}, "watch"};
  auto& q = request.query;
  q.emplace_back("watch", "true");
  if (!options.label_selector.empty()) q.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) q.emplace_back("fieldSelector", options.field_selector);
  if (!options.resource_version.empty()) {
    q.emplace_back("resourceVersion", options.resource_version);
  }
  if (options.allow_bookmarks) q.emplace_back("allowWatchBookmarks", "true");
  q.emplace_back("timeoutSeconds", std::to_string(options.timeout_seconds));
  return request;
}

Result<HttpRequest> BuildCreate(const GroupVersionResource& gvr, std::string_view ns,
                                const json& object) {
  if (!object.is_object()) return InvalidArgumentError("create needs a JSON object");
  std::string object_ns = StringField(object, "metadata", "namespace");
  std::string_view target_ns = ns.empty() ? std::string_view(object_ns) : ns;
  if (gvr.namespaced && target_ns.empty()) {
    return InvalidArgumentError("create of " + gvr.resource + " needs a namespace");
  }
  ASSIGN_OR_RETURN(std::string path, ResourcePath(gvr, target_ns, {}));
  return HttpRequest{"POST", std::move(path), {}, std::string(kJson), DumpJson(object), "create"};
}

Result<HttpRequest> BuildUpdate(const GroupVersionResource& gvr, const json& object,
                                std::string_view subresource) {
  if (!object.is_object()) return InvalidArgumentError("update needs a JSON object");
  std::string name = StringField(object, "metadata", "name");
  if (name.empty()) return InvalidArgumentError("update needs metadata.name");
  std::string ns = StringField(object, "metadata", "namespace");
  if (gvr.namespaced && ns.empty()) return InvalidArgumentError("update needs metadata.namespace");
  ASSIGN_OR_RETURN(std::string path, ResourcePath(gvr, ns, name, subresource));
  return HttpRequest{"PUT", std::move(path), {}, std::string(kJson), DumpJson(object), "update"};
}

Result<HttpRequest> BuildDelete(const GroupVersionResource& gvr, std::string_view ns,
                                std::string_view name, const DeleteOptions& options) {
  if (name.empty()) return InvalidArgumentError("delete needs a name");
  ASSIGN_OR_RETURN(std::string path, ResourcePath(gvr, ns, name));
  json body = options.ToJson();
  if (body.empty()) return HttpRequest{"DELETE", std::move(path), {}, {}, {}, "delete"};
  return HttpRequest{"DELETE", std::move(path), {}, std::string(kJson), DumpJson(body), "delete"};
}

Result<HttpRequest> BuildMergePatch(const GroupVersionResource& gvr, std::string_view ns,
                                    std::string_view name, const json& patch,
                                    std::string_view subresource) {
  if (name.empty()) return InvalidArgumentError("patch needs a name");
  if (!patch.is_object()) return InvalidArgumentError("a merge patch is a JSON object");
  ASSIGN_OR_RETURN(std::string path, ResourcePath(gvr, ns, name, subresource));
  return HttpRequest{"PATCH", std::move(path), {}, std::string(kMergePatch), DumpJson(patch),
                     "patch"};
}

Result<HttpRequest> BuildApply(const GroupVersionResource& gvr, const json& object,
                               const ApplyOptions& options, std::string_view subresource) {
  if (!object.is_object()) return InvalidArgumentError("apply needs a JSON object");
  if (!object.contains("apiVersion") || !object.contains("kind")) {
    return InvalidArgumentError("apply needs apiVersion and kind");
  }
  if (options.field_manager.empty()) return InvalidArgumentError("apply needs a field manager");
  std::string name = StringField(object, "metadata", "name");
  if (name.empty()) return InvalidArgumentError("apply needs metadata.name");
  std::string ns = StringField(object, "metadata", "namespace");
  if (gvr.namespaced && ns.empty()) return InvalidArgumentError("apply needs metadata.namespace");
  ASSIGN_OR_RETURN(std::string path, ResourcePath(gvr, ns, name, subresource));
  HttpRequest request{"PATCH", std::move(path), {}, std::string(kApplyPatch), DumpJson(object),
                      "patch"};
  request.query.emplace_back("fieldManager", options.field_manager);
  if (options.force) request.query.emplace_back("force", "true");
  return request;
}

std::string ObjectKey(const json& object) {
  std::string ns = StringField(object, "metadata", "namespace");
  std::string name = StringField(object, "metadata", "name");
  return ns.empty() ? name : ns + "/" + name;
}

std::string ResourceVersionOf(const json& object) {
  return StringField(object, "metadata", "resourceVersion");
}

}  // namespace ember::kube
