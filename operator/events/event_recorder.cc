#include "operator/events/event_recorder.h"

#include <chrono>
#include <cstdio>
#include <optional>

#include "operator/kube/core/json_util.h"
#include "operator/kube/core/time_format.h"

namespace ember::kube {
namespace {

using nlohmann::json;

}  // namespace

EventRecorder::EventRecorder(Client* client, std::string component)
    : client_(client), component_(std::move(component)) {}

Status EventRecorder::Record(const json& involved, EventType type, std::string_view reason,
                             std::string_view message) {
  const json& metadata = ObjectAt(involved, "metadata");
  const std::string name = StringAt(metadata, "name");
  if (name.empty()) return InvalidArgumentError("event about an object without a name");
  if (reason.empty()) return InvalidArgumentError("event without a reason");
  const std::string object_ns = StringAt(metadata, "namespace");
  // Events about cluster-scoped objects go to "default", as kubectl expects.
  const std::string event_ns = object_ns.empty() ? "default" : object_ns;
  const std::string type_name = type == EventType::kNormal ? "Normal" : "Warning";
  const std::string uid = StringAt(metadata, "uid");
  const std::string involved_id =
      uid.empty() ? StringAt(involved, "kind") + "/" + ObjectKey(involved) : uid;
  Key key{involved_id, type_name, std::string(reason), std::string(message)};
  const std::string now = FormatTime(std::chrono::system_clock::now());

  std::optional<Seen> seen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = seen_.find(key);
    if (it != seen_.end()) seen = it->second;
  }
  if (seen) {
    json patch = {{"count", seen->count + 1}, {"lastTimestamp", now}};
    ApiResult<json> patched =
        client_->MergePatch(resources::Events(), seen->event_namespace, seen->event_name, patch);
    std::lock_guard<std::mutex> lock(mu_);
    if (patched.ok()) {
      if (auto it = seen_.find(key); it != seen_.end()) it->second.count = seen->count + 1;
      return Status::Ok();
    }
    if (!patched.error().IsNotFound()) return patched.status().WithContext("updating event");
    seen_.erase(key);
  }

  // Unique per recorder and time, like client-go's "<name>.<hex nanos>".
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  char suffix[40];
  std::snprintf(suffix, sizeof(suffix), ".%llx%llx", static_cast<unsigned long long>(nanos),
                static_cast<unsigned long long>(sequence_.fetch_add(1)));
  json involved_ref = {{"apiVersion", StringAt(involved, "apiVersion")},
                       {"kind", StringAt(involved, "kind")},
                       {"name", name}};
  if (!object_ns.empty()) involved_ref["namespace"] = object_ns;
  if (!uid.empty()) involved_ref["uid"] = uid;
  if (metadata.contains("resourceVersion")) {
    involved_ref["resourceVersion"] = metadata["resourceVersion"];
  }
  json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"name", name + suffix}, {"namespace", event_ns}}},
                {"involvedObject", involved_ref},
                {"type", type_name},
                {"reason", reason},
                {"message", message},
                {"source", {{"component", component_}}},
                {"firstTimestamp", now},
                {"lastTimestamp", now},
                {"count", 1}};
  ApiResult<json> created = client_->Create(resources::Events(), event_ns, event);
  if (!created.ok()) return created.status().WithContext("creating event");
  std::lock_guard<std::mutex> lock(mu_);
  if (seen_.size() >= kMaxCachedEvents) seen_.clear();
  seen_[key] = Seen{StringAt(ObjectAt(*created, "metadata"), "name"), event_ns, 1};
  return Status::Ok();
}

}  // namespace ember::kube
