// A real control plane (etcd + kube-apiserver) for the operator's tests.
//
// ControlPlane is a GoogleTest Environment: SetUp runs `hack/controlplane.sh
// up` (building the binaries on first use) and loads the kubeconfig it
// writes; TearDown runs `down`, unless the control plane was already up
// before the tests started (a developer's running instance is left alone).
// There is no fake API server anywhere in these tests.
//
// Tests share one control plane, so each works in a namespace of its own
// (CreateNamespace). Namespaces are never deleted: without
// kube-controller-manager their deletion never completes, and etcd's data is
// dropped by `down` anyway.
//
// Thread-safety: the static accessors may be called from any thread after
// SetUp.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "ember/status.h"
#include "operator/kube/client/client.h"
#include "operator/kube/config/config.h"

namespace ember::kube::testing {

class ControlPlane : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;

  static std::string RepoRoot();
  static std::string KubeconfigPath();
  // The admin configuration from the kubeconfig.
  static const ClientConfig& Config();
  static std::unique_ptr<Client> NewClient();
  static std::unique_ptr<Client> NewClient(const ClientConfig& config);
  static int ApiServerPort();
  // "http://127.0.0.1:<port>" of etcd's client endpoint.
  static std::string EtcdUrl();

  // Runs hack/controlplane.sh with `args`; stdout goes to `out`.
  static Status Script(const std::string& args, std::string* out = nullptr);

  // Creates a namespace "<prefix>-<random>" and returns its name.
  static std::string CreateNamespace(const std::string& prefix);
};

// Compacts etcd's history up to `revision` (a resourceVersion), so that
// watches from older versions get 410 Gone.
Status CompactEtcd(const std::string& revision);

}  // namespace ember::kube::testing
