// The client against a real kube-apiserver: CRUD, errors, pagination,
// selectors, patch, apply and the status subresource of a custom resource.
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/controlplane/controlplane_env.h"
#include "tests/controlplane/test_util.h"

namespace ember::kube::testing {
namespace {

using nlohmann::json;

TEST(ClientTest, CreateReadUpdateDeleteAndTheirErrors) {
  const std::string ns = ControlPlane::CreateNamespace("crud");
  auto client = ControlPlane::NewClient();
  const auto cms = resources::ConfigMaps();

  ApiResult<json> created = client->Create(cms, ns, ConfigMap(ns, "a", {{"k", "v1"}}));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string rv1 = ResourceVersionOf(*created);
  EXPECT_FALSE(rv1.empty());

  ApiResult<json> again = client->Create(cms, ns, ConfigMap(ns, "a"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().http_code, 409);
  EXPECT_EQ(again.error().reason, "AlreadyExists");
  EXPECT_TRUE(again.error().IsAlreadyExists());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);

  ApiResult<json> read = client->Get(cms, ns, "a");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ((*read)["data"]["k"], "v1");

  json updated_object = *read;
  updated_object["data"]["k"] = "v2";
  ApiResult<json> updated = client->Update(cms, updated_object);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_NE(ResourceVersionOf(*updated), rv1);

  // The object read before the update carries a stale resourceVersion.
  json stale = *read;
  stale["data"]["k"] = "lost-update";
  ApiResult<json> conflict = client->Update(cms, stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().http_code, 409);
  EXPECT_EQ(conflict.error().reason, "Conflict");
  EXPECT_TRUE(conflict.error().IsConflict());
  EXPECT_EQ(conflict.status().code(), StatusCode::kAborted);
  EXPECT_NE(conflict.error().message.find("the object has been modified"), std::string::npos)
      << conflict.error().message;

  ApiResult<json> invalid = client->Create(cms, ns, ConfigMap(ns, "Not_A_Valid_Name"));
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().http_code, 422);
  EXPECT_EQ(invalid.error().reason, "Invalid");
  EXPECT_TRUE(invalid.error().IsInvalid());
  EXPECT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(invalid.error().message.find("Not_A_Valid_Name"), std::string::npos);
  EXPECT_NE(invalid.error().message.find("metadata.name"), std::string::npos)
      << invalid.error().message;
  EXPECT_TRUE(invalid.error().details.contains("causes")) << invalid.error().details.dump();

  ApiResult<json> missing = client->Get(cms, ns, "never-created");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().http_code, 404);
  EXPECT_EQ(missing.error().reason, "NotFound");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  ApiResult<json> patched = client->MergePatch(cms, ns, "a", {{"data", {{"added", "p"}}}});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ((*patched)["data"]["k"], "v2");
  EXPECT_EQ((*patched)["data"]["added"], "p");

  json applied_object = ConfigMap(ns, "a", {{"owned-by-apply", "yes"}});
  ApiResult<json> applied =
      client->Apply(cms, applied_object, ApplyOptions{"ember-test", /*force=*/true});
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ((*applied)["data"]["owned-by-apply"], "yes");
  bool has_manager = false;
  for (const auto& entry : (*applied)["metadata"]["managedFields"]) {
    if (entry.value("manager", "") == "ember-test") has_manager = true;
  }
  EXPECT_TRUE(has_manager);

  DeleteOptions background;
  background.propagation_policy = PropagationPolicy::kBackground;
  ApiResult<json> deleted = client->Delete(cms, ns, "a", background);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(client->Get(cms, ns, "a").error().http_code, 404);
  ApiResult<json> deleted_again = client->Delete(cms, ns, "a");
  ASSERT_FALSE(deleted_again.ok());
  EXPECT_TRUE(deleted_again.error().IsNotFound());
}

TEST(ClientTest, DeletePreconditionOnAStaleVersionConflicts) {
  const std::string ns = ControlPlane::CreateNamespace("precond");
  auto client = ControlPlane::NewClient();
  ApiResult<json> created = client->Create(resources::ConfigMaps(), ns, ConfigMap(ns, "x"));
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(client->MergePatch(resources::ConfigMaps(), ns, "x", {{"data", {{"a", "b"}}}}).ok());
  DeleteOptions options;
  options.precondition_resource_version = ResourceVersionOf(*created);
  ApiResult<json> deleted = client->Delete(resources::ConfigMaps(), ns, "x", options);
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().http_code, 409);
  EXPECT_TRUE(client->Get(resources::ConfigMaps(), ns, "x").ok());
}

TEST(ClientTest, ListPaginatesOverMoreThanAThousandObjects) {
  constexpr int kObjects = 1050;
  constexpr int kPage = 100;
  const std::string ns = ControlPlane::CreateNamespace("paging");
  auto client = ControlPlane::NewClient();
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> creators;
  for (int t = 0; t < 8; ++t) {
    creators.emplace_back([&] {
      for (int i = next++; i < kObjects; i = next++) {
        if (!client->Create(resources::ConfigMaps(), ns, ConfigMap(ns, "cm-" + std::to_string(i)))
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : creators) t.join();
  ASSERT_EQ(failures.load(), 0);

  // By hand: every page but the last is full and carries a continue token.
  ListOptions options;
  options.limit = kPage;
  ApiResult<json> first = client->List(resources::ConfigMaps(), ns, options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ((*first)["items"].size(), static_cast<size_t>(kPage));
  EXPECT_FALSE((*first)["metadata"].value("continue", "").empty());
  EXPECT_EQ((*first)["metadata"].value("remainingItemCount", 0), kObjects - kPage);

  ApiResult<ListResult> all = client->ListAll(resources::ConfigMaps(), ns, options);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->pages, (kObjects + kPage - 1) / kPage);
  EXPECT_EQ(all->items.size(), static_cast<size_t>(kObjects));
  std::set<std::string> names;
  for (const auto& item : all->items) names.insert(item["metadata"]["name"].get<std::string>());
  EXPECT_EQ(names.size(), static_cast<size_t>(kObjects));
  EXPECT_FALSE(all->resource_version.empty());
}

TEST(ClientTest, LabelAndFieldSelectors) {
  const std::string ns = ControlPlane::CreateNamespace("selectors");
  auto client = ControlPlane::NewClient();
  for (int i = 0; i < 6; ++i) {
    json cm = ConfigMap(ns, "cm-" + std::to_string(i));
    cm["metadata"]["labels"] = {{"parity", i % 2 == 0 ? "even" : "odd"}};
    ASSERT_TRUE(client->Create(resources::ConfigMaps(), ns, cm).ok());
  }
  ListOptions even;
  even.label_selector = "parity=even";
  ApiResult<ListResult> evens = client->ListAll(resources::ConfigMaps(), ns, even);
  ASSERT_TRUE(evens.ok());
  EXPECT_EQ(evens->items.size(), 3u);
  for (const auto& item : evens->items) EXPECT_EQ(item["metadata"]["labels"]["parity"], "even");

  ListOptions by_name;
  by_name.field_selector = "metadata.name=cm-3";
  ApiResult<ListResult> one = client->ListAll(resources::ConfigMaps(), ns, by_name);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->items.size(), 1u);
  EXPECT_EQ(one->items[0]["metadata"]["name"], "cm-3");

  ListOptions bad;
  bad.label_selector = "parity in (";
  ApiResult<ListResult> rejected = client->ListAll(resources::ConfigMaps(), ns, bad);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().http_code, 400);
}

TEST(ClientTest, CustomResourceStatusSubresource) {
  auto client = ControlPlane::NewClient();
  const std::string ns = ControlPlane::CreateNamespace("crd");
  // A group per run: CRDs are cluster-scoped and outlive the namespace.
  const std::string group = ns + ".test.ember.io";
  const GroupVersionResource widgets{group, "v1", "widgets", true};
  json crd = {
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata", {{"name", "widgets." + group}}},
      {"spec",
       {{"group", group},
        {"scope", "Namespaced"},
        {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}}},
        {"versions",
         json::array(
             {{{"name", "v1"},
               {"served", true},
               {"storage", true},
               {"subresources", {{"status", json::object()}}},
               {"schema",
                {{"openAPIV3Schema",
                  {{"type", "object"},
                   {"properties",
                    {{"spec",
                      {{"type", "object"}, {"properties", {{"size", {{"type", "integer"}}}}}}},
                     {"status",
                      {{"type", "object"},
                       {"properties", {{"phase", {{"type", "string"}}}}}}}}}}}}}}})}}}};
  ApiResult<json> created_crd = client->Create(resources::CustomResourceDefinitions(), "", crd);
  ASSERT_TRUE(created_crd.ok()) << created_crd.status().ToString();
  ASSERT_TRUE(Eventually([&] {
    ApiResult<json> current =
        client->Get(resources::CustomResourceDefinitions(), "", "widgets." + group);
    if (!current.ok()) return false;
    for (const auto& c : (*current)["status"].value("conditions", json::array())) {
      if (c.value("type", "") == "Established" && c.value("status", "") == "True") return true;
    }
    return false;
  }));
  // Established is set slightly before the endpoint serves.
  ASSERT_TRUE(Eventually([&] { return client->List(widgets, ns).ok(); }));

  json widget = {{"apiVersion", group + "/v1"},
                 {"kind", "Widget"},
                 {"metadata", {{"name", "w"}, {"namespace", ns}}},
                 {"spec", {{"size", 3}}}};
  ApiResult<json> created = client->Create(widgets, ns, widget);
  ASSERT_TRUE(created.ok()) << created.status().ToString();

  // A status write through the main resource is ignored...
  json with_status = *created;
  with_status["status"] = {{"phase", "Ignored"}};
  ApiResult<json> main_update = client->Update(widgets, with_status);
  ASSERT_TRUE(main_update.ok()) << main_update.status().ToString();
  EXPECT_FALSE((*main_update).contains("status") && (*main_update)["status"].contains("phase"));

  // ...and through the status subresource it lands, leaving spec alone.
  json status_update = *main_update;
  status_update["status"] = {{"phase", "Running"}};
  status_update["spec"]["size"] = 99;
  ApiResult<json> updated = client->UpdateStatus(widgets, status_update);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ((*updated)["status"]["phase"], "Running");
  EXPECT_EQ((*updated)["spec"]["size"], 3);

  ApiResult<json> patched =
      client->MergePatch(widgets, ns, "w", {{"status", {{"phase", "Done"}}}}, "status");
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ((*patched)["status"]["phase"], "Done");
  ApiResult<json> status = client->Get(widgets, ns, "w", "status");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["status"]["phase"], "Done");

  // Schema validation errors are 422 with the API's message.
  json bad = widget;
  bad["metadata"]["name"] = "bad";
  bad["spec"]["size"] = "three";
  ApiResult<json> invalid = client->Create(widgets, ns, bad);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().http_code, 422);
  EXPECT_NE(invalid.error().message.find("spec.size"), std::string::npos)
      << invalid.error().message;
}

TEST(ClientTest, BadCredentialsAreUnauthorized) {
  ClientConfig config = ControlPlane::Config();
  config.client_cert_pem.clear();
  config.client_key_pem.clear();
  config.bearer_token = "not-a-token";
  auto client = ControlPlane::NewClient(config);
  ApiResult<json> result = client->Get(resources::Namespaces(), "", "default");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().http_code, 401);
  EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
}

TEST(ClientTest, WrongCaFailsTlsVerification) {
  ClientConfig config = ControlPlane::Config();
  // The client CA did not sign the serving certificate.
  Result<std::string> other_ca =
      ReadFileToString(ControlPlane::RepoRoot() + "/.cache/controlplane/pki/client-ca.crt");
  ASSERT_TRUE(other_ca.ok());
  config.ca_pem = *other_ca;
  config.max_retries = 0;
  auto client = ControlPlane::NewClient(config);
  ApiResult<json> result = client->Get(resources::Namespaces(), "", "default");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().http_code, 0);
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ember::kube::testing
