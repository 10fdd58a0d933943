// Request building for the Kubernetes API: paths, query strings, bodies.
#include <gtest/gtest.h>

#include "operator/kube/core/resource.h"

namespace ember::kube {
namespace {

using nlohmann::json;

struct PathCase {
  GroupVersionResource gvr;
  std::string ns;
  std::string name;
  std::string subresource;
  std::string want;
};

TEST(ResourcePathTest, BuildsCoreGroupAndClusterScopedPaths) {
  const GroupVersionResource widgets{"ember.io", "v1alpha1", "widgets", true};
  const PathCase cases[] = {
      {resources::ConfigMaps(), "default", "", "", "/api/v1/namespaces/default/configmaps"},
      {resources::ConfigMaps(), "", "", "", "/api/v1/configmaps"},
      {resources::ConfigMaps(), "ns", "cm", "", "/api/v1/namespaces/ns/configmaps/cm"},
      {resources::Pods(), "ns", "p", "status", "/api/v1/namespaces/ns/pods/p/status"},
      {resources::Namespaces(), "ignored", "x", "", "/api/v1/namespaces/x"},
      {resources::Leases(), "kube-system", "l", "",
       "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l"},
      {widgets, "a", "w", "status", "/apis/ember.io/v1alpha1/namespaces/a/widgets/w/status"},
      {resources::CustomResourceDefinitions(), "", "w.ember.io", "",
       "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/w.ember.io"},
  };
  for (const auto& c : cases) {
    Result<std::string> path = ResourcePath(c.gvr, c.ns, c.name, c.subresource);
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    EXPECT_EQ(*path, c.want);
  }
}

TEST(ResourcePathTest, RejectsNamesThatWouldEscapeTheirSegment) {
  EXPECT_EQ(ResourcePath(resources::ConfigMaps(), "ns", "a/b").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ResourcePath(resources::ConfigMaps(), "..", "x").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ResourcePath(resources::ConfigMaps(), "ns", "", "status").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ResourcePath(GroupVersionResource{"g", "", "r", true}, "ns", "x").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ListRequestTest, EncodesSelectorsAndPagination) {
  ListOptions options;
  options.label_selector = "app=spark,tier in (a,b)";
  options.field_selector = "metadata.name!=x";
  options.limit = 500;
  options.continue_token = "eyJ2Ijoi+/=";
  Result<HttpRequest> request = BuildList(resources::ConfigMaps(), "ns", options);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->method, "GET");
  EXPECT_EQ(request->Target(),
            "/api/v1/namespaces/ns/configmaps?labelSelector=app%3Dspark%2Ctier%20in%20%28a%2Cb%29"
            "&fieldSelector=metadata.name%21%3Dx&limit=500&continue=eyJ2Ijoi%2B%2F%3D");
  options.limit = -1;
  EXPECT_FALSE(BuildList(resources::ConfigMaps(), "ns", options).ok());
}

TEST(WatchRequestTest, AsksForBookmarksAndAServerSideTimeout) {
  WatchOptions options;
  options.resource_version = "12345";
  options.timeout_seconds = 60;
  Result<HttpRequest> request = BuildWatch(resources::ConfigMaps(), "", options);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->Target(),
            "/api/v1/configmaps?watch=true&resourceVersion=12345&allowWatchBookmarks=true"
            "&timeoutSeconds=60");
  options.timeout_seconds = 0;
  EXPECT_FALSE(BuildWatch(resources::ConfigMaps(), "", options).ok());
}

TEST(WriteRequestTest, CreateTakesTheNamespaceFromTheObjectWhenNotGiven) {
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "x"}, {"namespace", "from-object"}}}};
  Result<HttpRequest> request = BuildCreate(resources::ConfigMaps(), "", cm);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->method, "POST");
  EXPECT_EQ(request->path, "/api/v1/namespaces/from-object/configmaps");
  EXPECT_EQ(request->content_type, "application/json");
  EXPECT_EQ(json::parse(request->body), cm);
  cm["metadata"].erase("namespace");
  EXPECT_EQ(BuildCreate(resources::ConfigMaps(), "", cm).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(WriteRequestTest, UpdateAddressesTheObjectOrItsStatus) {
  json object = {{"metadata", {{"name", "w"}, {"namespace", "ns"}, {"resourceVersion", "7"}}}};
  const GroupVersionResource widgets{"ember.io", "v1", "widgets", true};
  Result<HttpRequest> update = BuildUpdate(widgets, object);
  ASSERT_TRUE(update.ok());
  EXPECT_EQ(update->method, "PUT");
  EXPECT_EQ(update->path, "/apis/ember.io/v1/namespaces/ns/widgets/w");
  Result<HttpRequest> status = BuildUpdate(widgets, object, "status");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->path, "/apis/ember.io/v1/namespaces/ns/widgets/w/status");
  EXPECT_FALSE(BuildUpdate(widgets, json{{"metadata", {{"namespace", "ns"}}}}).ok());
}

TEST(WriteRequestTest, DeleteSendsPropagationPolicyAndPreconditions) {
  DeleteOptions options;
  Result<HttpRequest> plain = BuildDelete(resources::Pods(), "ns", "p", options);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->method, "DELETE");
  EXPECT_TRUE(plain->body.empty());
  options.propagation_policy = PropagationPolicy::kForeground;
  options.precondition_resource_version = "42";
  Result<HttpRequest> request = BuildDelete(resources::Pods(), "ns", "p", options);
  ASSERT_TRUE(request.ok());
  json body = json::parse(request->body);
  EXPECT_EQ(body["propagationPolicy"], "Foreground");
  EXPECT_EQ(body["preconditions"]["resourceVersion"], "42");
  EXPECT_EQ(body["kind"], "DeleteOptions");
}

TEST(WriteRequestTest, MergePatchAndApplyUseTheirContentTypes) {
  Result<HttpRequest> patch =
      BuildMergePatch(resources::ConfigMaps(), "ns", "x", json{{"data", {{"k", "v"}}}});
  ASSERT_TRUE(patch.ok());
  EXPECT_EQ(patch->method, "PATCH");
  EXPECT_EQ(patch->content_type, "application/merge-patch+json");
  EXPECT_FALSE(BuildMergePatch(resources::ConfigMaps(), "ns", "x", json::array()).ok());

  json object = {{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", {{"name", "x"}, {"namespace", "ns"}}}};
  Result<HttpRequest> apply =
      BuildApply(resources::ConfigMaps(), object, ApplyOptions{"ember-operator", true});
  ASSERT_TRUE(apply.ok());
  EXPECT_EQ(apply->content_type, "application/apply-patch+yaml");
  EXPECT_EQ(apply->Target(),
            "/api/v1/namespaces/ns/configmaps/x?fieldManager=ember-operator&force=true");
  object.erase("kind");
  EXPECT_FALSE(BuildApply(resources::ConfigMaps(), object, ApplyOptions{}).ok());
}

TEST(ObjectKeyTest, NamespacedAndClusterScoped) {
  EXPECT_EQ(ObjectKey(json{{"metadata", {{"name", "a"}, {"namespace", "ns"}}}}), "ns/a");
  EXPECT_EQ(ObjectKey(json{{"metadata", {{"name", "node-1"}}}}), "node-1");
  EXPECT_EQ(ResourceVersionOf(json{{"metadata", {{"resourceVersion", "9"}}}}), "9");
  EXPECT_EQ(ResourceVersionOf(json::object()), "");
}

TEST(PercentEncodeTest, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(PercentEncode("a-Z_0.~"), "a-Z_0.~");
  EXPECT_EQ(PercentEncode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
}

}  // namespace
}  // namespace ember::kube
