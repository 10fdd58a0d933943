// In-cluster configuration from service account files, with a real token
// from the TokenRequest API, real RBAC, and token rotation.
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "operator/kube/config/config.h"
#include "tests/controlplane/controlplane_env.h"
#include "tests/controlplane/test_util.h"

namespace ember::kube::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string RequestToken(Client* admin, const std::string& ns, const std::string& account) {
  json sa = {{"apiVersion", "v1"},
             {"kind", "ServiceAccount"},
             {"metadata", {{"name", account}, {"namespace", ns}}}};
  ApiResult<json> created = admin->Create(resources::ServiceAccounts(), ns, sa);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  json request = {{"apiVersion", "authentication.k8s.io/v1"},
                  {"kind", "TokenRequest"},
                  {"spec", {{"expirationSeconds", 3600}}}};
  Result<std::string> path = ResourcePath(resources::ServiceAccounts(), ns, account, "token");
  EXPECT_TRUE(path.ok());
  ApiResult<json> token =
      admin->Do(HttpRequest{"POST", *path, {}, "application/json", request.dump(), "create"});
  EXPECT_TRUE(token.ok()) << token.status().ToString();
  return token.ok() ? (*token)["status"].value("token", "") : "";
}

void Write(const std::string& path, const std::string& contents) {
  // Via rename, as the kubelet's atomic writer does.
  std::ofstream(path + ".tmp") << contents;
  fs::rename(path + ".tmp", path);
}

TEST(InClusterTest, ServiceAccountFilesAuthenticateAndTokenRotationIsPickedUp) {
  const std::string ns = ControlPlane::CreateNamespace("incluster");
  auto admin = ControlPlane::NewClient();
  const std::string reader_token = RequestToken(admin.get(), ns, "reader");
  const std::string other_token = RequestToken(admin.get(), ns, "other");
  ASSERT_FALSE(reader_token.empty());
  ASSERT_FALSE(other_token.empty());

  json role = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
               {"kind", "Role"},
               {"metadata", {{"name", "cm-reader"}, {"namespace", ns}}},
               {"rules", json::array({{{"apiGroups", json::array({""})},
                                       {"resources", json::array({"configmaps"})},
                                       {"verbs", json::array({"get", "list", "watch"})}}})}};
  ASSERT_TRUE(admin->Create(resources::Roles(), ns, role).ok());
  json binding = {
      {"apiVersion", "rbac.authorization.k8s.io/v1"},
      {"kind", "RoleBinding"},
      {"metadata", {{"name", "reader-reads"}, {"namespace", ns}}},
      {"roleRef",
       {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "cm-reader"}}},
      {"subjects",
       json::array({{{"kind", "ServiceAccount"}, {"name", "reader"}, {"namespace", ns}}})}};
  ASSERT_TRUE(admin->Create(resources::RoleBindings(), ns, binding).ok());
  ASSERT_TRUE(admin->Create(resources::ConfigMaps(), ns, ConfigMap(ns, "visible")).ok());

  // The directory a kubelet would mount.
  std::string pattern = (fs::temp_directory_path() / "ember-sa-XXXXXX").string();
  const std::string dir = mkdtemp(pattern.data());
  Write(dir + "/token", reader_token);
  fs::copy_file(ControlPlane::RepoRoot() + "/.cache/controlplane/pki/serving-ca.crt",
                dir + "/ca.crt");
  Write(dir + "/namespace", ns);
  setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", std::to_string(ControlPlane::ApiServerPort()).c_str(), 1);
  Result<ClientConfig> config = LoadInClusterConfig(InClusterOptions{dir, "", ""});
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->default_namespace, ns);
  EXPECT_TRUE(config->client_cert_pem.empty());
  auto client = ControlPlane::NewClient(*config);
  const std::string pod_ns = config->default_namespace;

  // RBAC bindings reach the authorizer's cache shortly after they are made.
  ASSERT_TRUE(Eventually([&] { return client->List(resources::ConfigMaps(), pod_ns).ok(); },
                         std::chrono::seconds(30)));
  ApiResult<json> visible = client->Get(resources::ConfigMaps(), pod_ns, "visible");
  ASSERT_TRUE(visible.ok()) << visible.status().ToString();
  // The identity really is the service account, not the admin.
  ApiResult<json> elsewhere = client->List(resources::ConfigMaps(), "default");
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.error().http_code, 403);
  EXPECT_EQ(elsewhere.status().code(), StatusCode::kPermissionDenied);

  // Rotation: the kubelet replaces the file; the next request uses it.
  Write(dir + "/token", other_token);
  ApiResult<json> as_other = client->List(resources::ConfigMaps(), pod_ns);
  ASSERT_FALSE(as_other.ok());
  EXPECT_EQ(as_other.error().http_code, 403);
  EXPECT_NE(as_other.error().message.find("serviceaccount:" + ns + ":other"), std::string::npos)
      << as_other.error().message;

  Write(dir + "/token", "garbage");
  ApiResult<json> unauthenticated = client->List(resources::ConfigMaps(), pod_ns);
  ASSERT_FALSE(unauthenticated.ok());
  EXPECT_EQ(unauthenticated.error().http_code, 401);

  Write(dir + "/token", reader_token + "\n");
  ApiResult<json> back = client->List(resources::ConfigMaps(), pod_ns);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ember::kube::testing
