#include "operator/controller/resources.h"

#include "operator/controller/names.h"
#include "operator/controller/units.h"

namespace ember::sparkapp {
namespace {

using nlohmann::json;

constexpr int kSecretFileMode = 0444;
constexpr const char* kSecretVolume = "ember-secret";
constexpr const char* kScratchVolume = "ember-scratch";

json Labels(const AppRef& app, std::string_view role, std::string_view submission_id,
            const std::map<std::string, std::string>& user) {
  json labels = json::object();
  for (const auto& [k, v] : user) labels[k] = v;
  labels[std::string(kAppNameLabel)] = app.name;
  labels[std::string(kManagedByLabel)] = kManagedByValue;
  if (!role.empty()) labels[std::string(kRoleLabel)] = role;
  if (!submission_id.empty()) labels[std::string(kSubmissionIdLabel)] = submission_id;
  return labels;
}

json Metadata(const AppRef& app, const std::string& name, json labels) {
  return {{"name", name},
          {"namespace", app.ns},
          {"labels", std::move(labels)},
          {"ownerReferences", json::array({OwnerReference(app)})}};
}

json Resources(const RoleSpec& role) {
  const std::string memory = FormatMemory(role.PodMemoryBytes());
  json resources = {{"requests", {{"cpu", FormatCpuMillis(role.cpu_request_millis)}, {"memory", memory}}},
                    {"limits", {{"memory", memory}}}};
  if (role.cpu_limit_millis > 0) resources["limits"]["cpu"] = FormatCpuMillis(role.cpu_limit_millis);
  return resources;
}

// The restricted Pod Security Standard, unless the spec says otherwise.
json ContainerSecurity(const RoleSpec& role) {
  if (!role.security_context.is_null()) return role.security_context;
  return {{"allowPrivilegeEscalation", false},
          {"capabilities", {{"drop", json::array({"ALL"})}}},
          {"readOnlyRootFilesystem", true},
          {"runAsNonRoot", true}};
}

json PodSecurity(const RoleSpec& role) {
  if (!role.pod_security_context.is_null()) return role.pod_security_context;
  return {{"runAsNonRoot", true}, {"seccompProfile", {{"type", "RuntimeDefault"}}}};
}

json Env(const RoleSpec& role) {
  json env = json::array(
      {{{"name", "POD_IP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}},
       {{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}},
       {{"name", "TMPDIR"}, {"value", std::string(kScratchMountPath) + "/tmp"}}});
  for (const json& e : role.env) env.push_back(e);
  return env;
}

json Mounts(const RoleSpec& role) {
  json mounts = json::array({{{"name", kSecretVolume},
                              {"mountPath", std::string(kSecretMountPath)},
                              {"readOnly", true}},
                             {{"name", kScratchVolume}, {"mountPath", std::string(kScratchMountPath)}}});
  for (const json& m : role.volume_mounts) mounts.push_back(m);
  return mounts;
}

json Annotations(const RoleSpec& role, bool expose_metrics, int port) {
  json annotations = json::object();
  for (const auto& [k, v] : role.annotations) annotations[k] = v;
  if (expose_metrics) {
    annotations["prometheus.io/scrape"] = "true";
    annotations["prometheus.io/port"] = std::to_string(port);
    annotations["prometheus.io/path"] = "/metrics";
  }
  return annotations;
}

json Port(const char* name, int port) {
  return {{"name", name}, {"containerPort", port}, {"protocol", "TCP"}};
}

// Everything a driver and an executor pod share; `container` is the main one.
json Pod(const AppRef& app, const AppSpec& spec, const RoleSpec& role, const std::string& name,
         json labels, json annotations, json container) {
  json volumes = json::array(
      {{{"name", kSecretVolume},
        {"secret",
         {{"secretName", SecretName(app.name)},
          {"defaultMode", kSecretFileMode},
          {"items", json::array({{{"key", std::string(kSecretKey)}, {"path", std::string(kSecretKey)}}})}}}},
       {{"name", kScratchVolume}, {"emptyDir", json::object()}}});
  for (const json& v : spec.volumes) volumes.push_back(v);
  json containers = json::array({std::move(container)});
  for (const json& sidecar : role.sidecars) containers.push_back(sidecar);
  json pod_spec = {{"restartPolicy", "Never"},
                   {"enableServiceLinks", false},
                   {"securityContext", PodSecurity(role)},
                   {"containers", std::move(containers)},
                   {"volumes", std::move(volumes)}};
  if (!role.init_containers.empty()) pod_spec["initContainers"] = role.init_containers;
  if (role.service_account.empty()) {
    // Ember's pods never call the Kubernetes API; without a service account
    // of the user's choosing they get no token at all.
    pod_spec["automountServiceAccountToken"] = false;
  } else {
    pod_spec["serviceAccountName"] = role.service_account;
  }
  if (!spec.image_pull_secrets.empty()) {
    json secrets = json::array();
    for (const auto& s : spec.image_pull_secrets) secrets.push_back({{"name", s}});
    pod_spec["imagePullSecrets"] = std::move(secrets);
  }
  if (!role.node_selector.empty()) pod_spec["nodeSelector"] = role.node_selector;
  if (!role.tolerations.empty()) pod_spec["tolerations"] = role.tolerations;
  if (!role.affinity.is_null()) pod_spec["affinity"] = role.affinity;
  if (!role.priority_class_name.empty()) pod_spec["priorityClassName"] = role.priority_class_name;
  if (role.termination_grace_period_seconds) {
    pod_spec["terminationGracePeriodSeconds"] = *role.termination_grace_period_seconds;
  }
  if (!role.scheduler_name.empty()) pod_spec["schedulerName"] = role.scheduler_name;
  json metadata = Metadata(app, name, std::move(labels));
  if (!annotations.empty()) metadata["annotations"] = std::move(annotations);
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(metadata)}, {"spec", std::move(pod_spec)}};
}

json Container(const AppSpec& spec, const RoleSpec& role, std::string_view name,
               const std::string& image, const char* binary, json args, json ports) {
  json container = {{"name", std::string(name)},
                    {"image", image},
                    {"imagePullPolicy", spec.image_pull_policy},
                    {"command", json::array({binary})},
                    {"args", std::move(args)},
                    {"env", Env(role)},
                    {"ports", std::move(ports)},
                    {"resources", Resources(role)},
                    {"volumeMounts", Mounts(role)},
                    {"securityContext", ContainerSecurity(role)},
                    {"terminationMessagePolicy", "FallbackToLogsOnError"}};
  if (!role.env_from.empty()) container["envFrom"] = role.env_from;
  return container;
}

std::string ServiceHost(const AppRef& app) {
  return ServiceName(app.name) + "." + app.ns + ".svc";
}

}  // namespace

json OwnerReference(const AppRef& app) {
  return {{"apiVersion", std::string(kApiVersion)},
          {"kind", std::string(kKind)},
          {"name", app.name},
          {"uid", app.uid},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

std::string DriverAddress(const AppRef& app) {
  return ServiceHost(app) + ":" + std::to_string(kDriverRpcPort);
}

std::string WebUiAddress(const AppRef& app) {
  return ServiceHost(app) + ":" + std::to_string(kUiPort);
}

json BuildSecret(const AppRef& app, std::string_view token) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", Metadata(app, SecretName(app.name), Labels(app, "", "", {}))},
          {"type", "Opaque"},
          {"stringData", {{std::string(kSecretKey), std::string(token)}}}};
}

json BuildService(const AppRef& app, const AppSpec& spec) {
  json ports = json::array({{{"name", "rpc"}, {"port", kDriverRpcPort}, {"targetPort", kDriverRpcPort}},
                            {{"name", "ui"}, {"port", kUiPort}, {"targetPort", kUiPort}}});
  if (spec.monitoring.expose_driver_metrics) {
    ports.push_back({{"name", "metrics"},
                     {"port", spec.monitoring.port},
                     {"targetPort", spec.monitoring.port}});
  }
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", Metadata(app, ServiceName(app.name), Labels(app, kDriverRole, "", {}))},
          {"spec",
           {{"clusterIP", "None"},
            // Executors resolve the driver as soon as it has an address; it
            // listens before it turns Ready, and executors retry until then.
            {"publishNotReadyAddresses", true},
            {"selector", {{std::string(kAppNameLabel), app.name}, {std::string(kRoleLabel), std::string(kDriverRole)}}},
            {"ports", std::move(ports)}}}};
}

json BuildDriverPod(const AppRef& app, const AppSpec& spec, std::string_view submission_id) {
  const RoleSpec& role = spec.driver;
  const int metrics_port = spec.monitoring.expose_driver_metrics ? spec.monitoring.port : -1;
  json args = json::array({"--master=external[" + std::to_string(spec.executor.instances) + "]",
                           "--app-id=" + std::string(submission_id),
                           "--name=" + app.name,
                           "--bind-address=0.0.0.0",
                           "--port=" + std::to_string(kDriverRpcPort),
                           "--metrics-port=" + std::to_string(metrics_port),
                           "--ui-port=" + std::to_string(kUiPort),
                           "--secret-file=" + std::string(kSecretMountPath) + "/" + std::string(kSecretKey),
                           "--local-dir=" + std::string(kScratchMountPath) + "/driver",
                           "--driver-memory=" + std::to_string(role.memory_bytes),
                           "--executor-memory=" + std::to_string(spec.executor.memory_bytes),
                           "--termination-log=/dev/termination-log"});
  if (!spec.main_class.empty()) args.push_back("--class=" + spec.main_class);
  for (const auto& [k, v] : spec.spark_conf) args.push_back("--conf=" + k + "=" + v);
  args.push_back("--");
  args.push_back(spec.main_application_file);
  for (const auto& a : spec.arguments) args.push_back(a);
  json ports = json::array({Port("rpc", kDriverRpcPort), Port("ui", kUiPort)});
  if (metrics_port > 0) ports.push_back(Port("metrics", metrics_port));
  json container = Container(spec, role, kDriverContainer, role.image, "ember-driver",
                             std::move(args), std::move(ports));
  // Ready means listening for executors.
  container["readinessProbe"] = {{"tcpSocket", {{"port", kDriverRpcPort}}},
                                 {"periodSeconds", 2},
                                 {"failureThreshold", 3}};
  return Pod(app, spec, role, DriverPodName(app.name),
             Labels(app, kDriverRole, submission_id, role.labels),
             Annotations(role, spec.monitoring.expose_driver_metrics, spec.monitoring.port),
             std::move(container));
}

Result<json> BuildExecutorPod(const AppRef& app, const AppSpec& spec, std::string_view submission_id,
                              int executor_id, std::string_view default_image) {
  const ExecutorSpec& role = spec.executor;
  const std::string image = role.image.empty() ? std::string(default_image) : role.image;
  if (image.empty()) {
    return FailedPreconditionError(
        "no executor image: set spec.executor.image or spec.image, or start the operator with "
        "--executor-image");
  }
  const int metrics_port = spec.monitoring.expose_executor_metrics ? spec.monitoring.port : -1;
  json args = json::array({"--driver=" + DriverAddress(app),
                           "--executor-id=" + std::to_string(executor_id),
                           "--app-id=" + std::string(submission_id),
                           "--cores=" + std::to_string(role.cores),
                           "--memory=" + std::to_string(role.memory_bytes),
                           "--bind-address=0.0.0.0",
                           "--advertise-host=$(POD_IP)",
                           "--shuffle-port=" + std::to_string(kShufflePort),
                           "--metrics-port=" + std::to_string(metrics_port),
                           "--secret-file=" + std::string(kSecretMountPath) + "/" + std::string(kSecretKey),
                           "--local-dir=" + std::string(kScratchMountPath) + "/executor",
                           "--termination-log=/dev/termination-log"});
  // The driver passes ember.memory.budget to the executors it starts itself
  // (local-cluster); on Kubernetes the operator starts them, so it does.
  if (auto it = spec.spark_conf.find("ember.memory.budget"); it != spec.spark_conf.end()) {
    args.push_back("--memory-budget=" + it->second);
  }
  json ports = json::array({Port("shuffle", kShufflePort)});
  if (metrics_port > 0) ports.push_back(Port("metrics", metrics_port));
  json container = Container(spec, role, kExecutorContainer, image, "ember-executor",
                             std::move(args), std::move(ports));
  json labels = Labels(app, kExecutorRole, submission_id, role.labels);
  labels[std::string(kExecutorIdLabel)] = std::to_string(executor_id);
  return Pod(app, spec, role, ExecutorPodName(app.name, executor_id), std::move(labels),
             Annotations(role, spec.monitoring.expose_executor_metrics, spec.monitoring.port),
             std::move(container));
}

}  // namespace ember::sparkapp
