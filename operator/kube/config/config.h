// Where the API server is and how to authenticate to it.
//
// A ClientConfig comes from a kubeconfig file (the KUBECONFIG environment
// variable, or ~/.kube/config) or, inside a pod, from the service account
// files the kubelet mounts. Loading resolves everything the client needs up
// front: file references are read and base64 data decoded here, so the
// transport only ever sees PEM bytes. The one exception is the token file,
// which is re-read while the client runs, because the kubelet rotates
// projected service account tokens (see TokenSource).
//
// Supported kubeconfig fields: current-context or a named context; per
// cluster server, certificate-authority(-data), insecure-skip-tls-verify,
// tls-server-name is not supported; per user client-certificate(-data),
// client-key(-data), token, tokenFile; the context's namespace. Exec and
// auth-provider plugins are not supported and give kUnimplemented. Relative
// paths are relative to the kubeconfig's directory. KUBECONFIG may list
// several files separated by ':'; as in kubectl, the first file to define a
// name (or current-context) wins.
//
// Thread-safety: plain values and pure-ish loaders (they read files and the
// environment); safe to call concurrently.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "ember/status.h"

namespace ember::kube {

struct ClientConfig {
  // "https://host:port", no trailing slash.
  std::string server;
  // PEM bundle of the CAs that sign the server's certificate; empty uses the
  // system roots.
  std::string ca_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
  // A static bearer token; ignored when token_file is set.
  std::string bearer_token;
  // Re-read when it changes on disk and after a 401.
  std::string token_file;
  bool insecure_skip_tls_verify = false;
  // The namespace of the current context (or of the pod); "default" if unset.
  std::string default_namespace = "default";

  // Per request; a watch uses its own timeoutSeconds plus a margin instead.
  std::chrono::seconds request_timeout{30};
  // Retries of 429, 5xx and (for reads) transport failures.
  int max_retries = 5;
  std::chrono::milliseconds retry_min_delay{100};
  std::chrono::milliseconds retry_max_delay{10000};
  std::string user_agent = "ember-operator/0.1";
};

struct KubeconfigOptions {
  // Empty: $KUBECONFIG, then ~/.kube/config.
  std::string path;
  // Empty: the file's current-context.
  std::string context;
};

// Reads the kubeconfig file(s) and resolves the context.
Result<ClientConfig> LoadKubeconfig(const KubeconfigOptions& options = {});

// Parses kubeconfig text; `base_dir` resolves relative file references.
Result<ClientConfig> ParseKubeconfig(std::string_view yaml_text, std::string_view base_dir,
                                     std::string_view context = {});

struct InClusterOptions {
  // Holds token, ca.crt and namespace.
  std::string root = "/var/run/secrets/kubernetes.io/serviceaccount";
  // Empty: $KUBERNETES_SERVICE_HOST and $KUBERNETES_SERVICE_PORT.
  std::string host;
  std::string port;
};

// kFailedPrecondition when not running in a cluster (no host or no token).
Result<ClientConfig> LoadInClusterConfig(const InClusterOptions& options = {});

// What a controller binary wants: an explicit kubeconfig path if given,
// otherwise $KUBECONFIG, otherwise in-cluster, otherwise ~/.kube/config.
Result<ClientConfig> LoadDefaultConfig(std::string_view kubeconfig_path = {});

// Standard base64 (with or without padding, whitespace ignored).
Result<std::string> Base64Decode(std::string_view text);

// Reads a whole file; kNotFound / kPermissionDenied etc. from errno.
Result<std::string> ReadFileToString(const std::string& path);

}  // namespace ember::kube
