// The event recorder against a real API server: repeats aggregate.
#include <gtest/gtest.h>

#include "operator/events/event_recorder.h"
#include "tests/controlplane/controlplane_env.h"
#include "tests/controlplane/test_util.h"

namespace ember::kube::testing {
namespace {

using nlohmann::json;

TEST(EventRecorderTest, RepeatsAreAggregatedIntoOneEventWithACount) {
  const std::string ns = ControlPlane::CreateNamespace("events");
  auto client = ControlPlane::NewClient();
  ApiResult<json> cm = client->Create(resources::ConfigMaps(), ns, ConfigMap(ns, "subject"));
  ASSERT_TRUE(cm.ok());
  (*cm)["apiVersion"] = "v1";
  (*cm)["kind"] = "ConfigMap";
  EventRecorder recorder(client.get(), "ember-test");
  for (int i = 0; i < 3; ++i) {
    Status recorded = recorder.Record(*cm, EventType::kWarning, "SubmitFailed", "quota exceeded");
    ASSERT_TRUE(recorded.ok()) << recorded.ToString();
  }
  ASSERT_TRUE(recorder.Record(*cm, EventType::kNormal, "Submitted", "driver pod created").ok());

  ListOptions options;
  options.field_selector = "involvedObject.name=subject";
  ApiResult<ListResult> events = client->ListAll(resources::Events(), ns, options);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->items.size(), 2u);
  for (const auto& event : events->items) {
    EXPECT_EQ(event["involvedObject"]["uid"], (*cm)["metadata"]["uid"]);
    EXPECT_EQ(event["involvedObject"]["kind"], "ConfigMap");
    EXPECT_EQ(event["source"]["component"], "ember-test");
    if (event["reason"] == "SubmitFailed") {
      EXPECT_EQ(event["type"], "Warning");
      EXPECT_EQ(event["count"], 3);
      EXPECT_EQ(event["message"], "quota exceeded");
    } else {
      EXPECT_EQ(event["reason"], "Submitted");
      EXPECT_EQ(event["count"], 1);
    }
  }
  EXPECT_EQ(recorder.Record(json::object(), EventType::kNormal, "X", "y").code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ember::kube::testing
