// The informer's store: atomic replace and the changes it reports.
#include <gtest/gtest.h>

#include "operator/informer/store.h"

namespace ember::kube {
namespace {

using nlohmann::json;

json Object(const std::string& name, const std::string& rv) {
  return {{"metadata", {{"name", name}, {"namespace", "ns"}, {"resourceVersion", rv}}}};
}

TEST(StoreTest, ApplyAndRemoveByKey) {
  Store store;
  EXPECT_EQ(store.Apply(Object("a", "1")), nullptr);
  ObjectPtr old = store.Apply(Object("a", "2"));
  ASSERT_NE(old, nullptr);
  EXPECT_EQ((*old)["metadata"]["resourceVersion"], "1");
  EXPECT_EQ((*store.Get("ns/a"))["metadata"]["resourceVersion"], "2");
  EXPECT_NE(store.Remove(Object("a", "3")), nullptr);
  EXPECT_EQ(store.Get("ns/a"), nullptr);
  EXPECT_EQ(store.Remove(Object("a", "3")), nullptr);
}

TEST(StoreTest, ReplaceReportsAddsUpdatesAndDeletes) {
  Store store;
  store.Apply(Object("same", "1"));
  store.Apply(Object("changed", "1"));
  store.Apply(Object("gone", "1"));
  ObjectPtr held = store.Get("ns/gone");
  auto changes = store.Replace({Object("same", "1"), Object("changed", "5"), Object("new", "6")});
  int adds = 0, updates = 0, deletes = 0;
  for (const auto& c : changes) {
    if (!c.old_object) {
      ++adds;
      EXPECT_EQ((*c.new_object)["metadata"]["name"], "new");
    } else if (!c.new_object) {
      ++deletes;
      EXPECT_EQ((*c.old_object)["metadata"]["name"], "gone");
    } else {
      ++updates;
      EXPECT_EQ((*c.new_object)["metadata"]["name"], "changed");
    }
  }
  EXPECT_EQ(adds, 1);
  EXPECT_EQ(updates, 1);
  EXPECT_EQ(deletes, 1);
  EXPECT_EQ(store.Size(), 3u);
  EXPECT_EQ(store.Get("ns/gone"), nullptr);
  // A reader's reference survives the replace.
  EXPECT_EQ((*held)["metadata"]["name"], "gone");
}

}  // namespace
}  // namespace ember::kube
