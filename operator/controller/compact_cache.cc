#include "operator/controller/compact_cache.h"

#include "operator/controller/names.h"
#include "operator/controller/pod_view.h"
#include "operator/kube/core/json_util.h"

namespace ember::sparkapp {
namespace {

using nlohmann::json;

constexpr const char* kText = "object";

json Identity(const json& object) {
  const json& metadata = kube::ObjectAt(object, "metadata");
  json meta = json::object();
  for (const char* key : {"name", "namespace", "uid", "resourceVersion"}) {
    const std::string value = kube::StringAt(metadata, key);
    if (!value.empty()) meta[key] = value;
  }
  return {{"metadata", std::move(meta)}};
}

std::string OwnerOf(const json& pod) {
  const json& metadata = kube::ObjectAt(pod, "metadata");
  auto owners = metadata.find("ownerReferences");
  if (!metadata.is_object() || owners == metadata.end() || !owners->is_array()) return "";
  for (const json& o : *owners) {
    if (kube::StringAt(o, "kind") == kKind &&
        kube::StringAt(o, "apiVersion").rfind(std::string(kGroup) + "/", 0) == 0) {
      return kube::StringAt(metadata, "namespace") + "/" + kube::StringAt(o, "name");
    }
  }
  return "";
}

}  // namespace

json CompactApplication(json&& app) {
  if (app.is_object()) {
    auto metadata = app.find("metadata");
    if (metadata != app.end() && metadata->is_object()) {
      metadata->erase("managedFields");
      auto annotations = metadata->find("annotations");
      if (annotations != metadata->end() && annotations->is_object()) {
        annotations->erase("kubectl.kubernetes.io/last-applied-configuration");
      }
    }
  }
  json cached = Identity(app);
  const std::string state =
      kube::StringAt(kube::ObjectAt(kube::ObjectAt(app, "status"), "applicationState"), "state");
  cached["state"] = state.empty() ? "NEW" : state;
  cached[kText] = kube::DumpJson(app);
  return cached;
}

json CompactPod(json&& pod) {
  json trimmed = TrimPod(std::move(pod));
  json cached = Identity(trimmed);
  cached["owner"] = OwnerOf(trimmed);
  cached[kText] = kube::DumpJson(trimmed);
  return cached;
}

json Expand(const json& cached) {
  const std::string text = kube::StringAt(cached, kText);
  json object = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return object.is_discarded() ? json::object() : object;
}

std::string CachedOwner(const json& cached) { return kube::StringAt(cached, "owner"); }

std::string CachedState(const json& cached) { return kube::StringAt(cached, "state", "NEW"); }

}  // namespace ember::sparkapp
