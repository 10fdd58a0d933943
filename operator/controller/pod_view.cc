#include "operator/controller/pod_view.h"

#include "operator/controller/names.h"
#include "operator/kube/core/json_util.h"
#include "operator/kube/core/time_format.h"

namespace ember::sparkapp {
namespace {

using nlohmann::json;
using kube::ObjectAt;
using kube::StringAt;

std::optional<TimePoint> TimeAt(const json& object, std::string_view key) {
  const std::string text = StringAt(object, key);
  if (text.empty()) return std::nullopt;
  return kube::ParseTime(text);
}

const json& ArrayAt(const json& object, std::string_view key) {
  static const json kEmpty = json::array();
  if (!object.is_object()) return kEmpty;
  auto it = object.find(key);
  return it != object.end() && it->is_array() ? *it : kEmpty;
}

const json* FindContainer(const json& statuses, std::string_view name) {
  if (!statuses.is_array()) return nullptr;
  for (const json& s : statuses) {
    if (StringAt(s, "name") == name) return &s;
  }
  return nullptr;
}

json TrimContainerStatuses(const json& statuses) {
  json out = json::array();
  if (!statuses.is_array()) return out;
  for (const json& s : statuses) {
    json kept = {{"name", StringAt(s, "name")}};
    if (s.is_object() && s.contains("ready")) kept["ready"] = s["ready"];
    if (s.is_object() && s.contains("state")) kept["state"] = s["state"];
    out.push_back(std::move(kept));
  }
  return out;
}

// The first waiting reason among containers, main container first.
void WaitingReason(const json& status, std::string_view main, std::string* reason,
                   std::string* message) {
  auto take = [&](const json& s) {
    const json& waiting = ObjectAt(ObjectAt(s, "state"), "waiting");
    const std::string r = StringAt(waiting, "reason");
    if (r.empty() || r == "ContainerCreating" || r == "PodInitializing") return false;
    *reason = r;
    *message = StringAt(waiting, "message");
    return true;
  };
  if (const json* c = FindContainer(ArrayAt(status, "containerStatuses"), main); c && take(*c)) {
    return;
  }
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    for (const json& s : ArrayAt(status, list)) {
      if (take(s)) return;
    }
  }
}

}  // namespace

PodView ViewPod(const json& pod, std::string_view main_container) {
  PodView v;
  const json& metadata = ObjectAt(pod, "metadata");
  v.name = StringAt(metadata, "name");
  v.uid = StringAt(metadata, "uid");
  const json& labels = ObjectAt(metadata, "labels");
  v.role = StringAt(labels, kRoleLabel);
  v.submission_id = StringAt(labels, kSubmissionIdLabel);
  const std::string id = StringAt(labels, kExecutorIdLabel);
  if (!id.empty()) {
    try {
      v.executor_id = std::stoi(id);
    } catch (const std::exception&) {
      v.executor_id = 0;
    }
  }
  v.deletion_time = TimeAt(metadata, "deletionTimestamp");
  v.deleting = !StringAt(metadata, "deletionTimestamp").empty();
  v.created = TimeAt(metadata, "creationTimestamp");

  const json& status = ObjectAt(pod, "status");
  v.phase = StringAt(status, "phase", "Pending");
  v.pod_ip = StringAt(status, "podIP");
  v.pod_reason = StringAt(status, "reason");
  v.pod_message = StringAt(status, "message");
  v.started = TimeAt(status, "startTime");
  {
    for (const json& c : ArrayAt(status, "conditions")) {
      const std::string type = StringAt(c, "type");
      if (type == "Ready") v.ready = StringAt(c, "status") == "True";
      if (type == "PodScheduled" && StringAt(c, "status") == "False" &&
          StringAt(c, "reason") == "Unschedulable") {
        v.pending_reason = "Unschedulable";
        v.pending_message = StringAt(c, "message");
      }
    }
  }
  if (status.is_object()) {
    if (v.pending_reason.empty()) WaitingReason(status, main_container, &v.pending_reason, &v.pending_message);
    if (const json* main = FindContainer(ArrayAt(status, "containerStatuses"), main_container)) {
      const json& state = ObjectAt(*main, "state");
      if (auto started = TimeAt(ObjectAt(state, "running"), "startedAt")) v.started = started;
      const json& terminated = ObjectAt(state, "terminated");
      if (terminated.is_object() && !terminated.empty()) {
        v.terminated = true;
        v.exit_code = static_cast<int>(kube::IntAt(terminated, "exitCode", 0));
        v.terminated_reason = StringAt(terminated, "reason");
        v.terminated_message = StringAt(terminated, "message");
      }
    }
  }
  return v;
}

json TrimPod(json&& pod) {
  const json& metadata = ObjectAt(pod, "metadata");
  json meta = json::object();
  for (const char* key : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp",
                          "deletionTimestamp"}) {
    const std::string value = StringAt(metadata, key);
    if (!value.empty()) meta[key] = value;
  }
  json labels = json::object();
  for (std::string_view key : {kAppNameLabel, kRoleLabel, kSubmissionIdLabel, kExecutorIdLabel}) {
    const std::string value = StringAt(ObjectAt(metadata, "labels"), key);
    if (!value.empty()) labels[std::string(key)] = value;
  }
  meta["labels"] = std::move(labels);
  if (auto it = metadata.find("ownerReferences"); metadata.is_object() && it != metadata.end()) {
    json owners = json::array();
    if (it->is_array()) {
      for (const json& o : *it) {
        owners.push_back({{"apiVersion", StringAt(o, "apiVersion")},
                          {"kind", StringAt(o, "kind")},
                          {"name", StringAt(o, "name")},
                          {"uid", StringAt(o, "uid")}});
      }
    }
    meta["ownerReferences"] = std::move(owners);
  }
  const json& status = ObjectAt(pod, "status");
  json st = json::object();
  for (const char* key : {"phase", "reason", "message", "podIP", "startTime"}) {
    const std::string value = StringAt(status, key);
    if (!value.empty()) st[key] = value;
  }
  if (auto it = status.find("conditions"); status.is_object() && it != status.end() && it->is_array()) {
    json conditions = json::array();
    for (const json& c : *it) {
      conditions.push_back({{"type", StringAt(c, "type")},
                            {"status", StringAt(c, "status")},
                            {"reason", StringAt(c, "reason")},
                            {"message", StringAt(c, "message")}});
    }
    st["conditions"] = std::move(conditions);
  }
  for (const char* key : {"containerStatuses", "initContainerStatuses"}) {
    if (status.is_object() && status.contains(key)) st[key] = TrimContainerStatuses(status[key]);
  }
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(meta)}, {"status", std::move(st)}};
}

std::string DescribeFailure(const PodView& pod, std::string* reason) {
  std::string text;
  if (pod.pod_reason == "Evicted" || (!pod.pod_reason.empty() && !pod.terminated)) {
    *reason = pod.pod_reason;
    text = pod.pod_reason + (pod.pod_message.empty() ? "" : ": " + pod.pod_message);
    return text;
  }
  if (pod.terminated) {
    *reason = pod.terminated_reason == "OOMKilled" ? "OOMKilled" : "Error";
    text = "exit code " + std::to_string(pod.exit_code);
    if (!pod.terminated_reason.empty()) text += " (" + pod.terminated_reason + ")";
    if (!pod.terminated_message.empty()) {
      std::string message = pod.terminated_message;
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
      text += ": " + message;
    }
    return text;
  }
  *reason = pod.pending_reason.empty() ? "Failed" : pod.pending_reason;
  text = "pod failed";
  if (!pod.pending_reason.empty()) text += " (" + pod.pending_reason + ": " + pod.pending_message + ")";
  if (!pod.pod_message.empty()) text += ": " + pod.pod_message;
  return text;
}

}  // namespace ember::sparkapp
