// Watches and informers against a real kube-apiserver, including its restart
// and an expired resourceVersion (410 Gone).
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "operator/informer/informer.h"
#include "tests/controlplane/controlplane_env.h"
#include "tests/controlplane/tcp_proxy.h"
#include "tests/controlplane/test_util.h"

namespace ember::kube::testing {
namespace {

using nlohmann::json;

// What the handlers saw, replayed into a map: must equal the store and the
// server's state, or an event was lost, duplicated or misordered.
class Mirror {
 public:
  InformerHandlers Handlers() {
    InformerHandlers h;
    h.on_add = [this](const ObjectPtr& o) {
      std::lock_guard<std::mutex> lock(mu_);
      if (objects_.count(ObjectKey(*o)) > 0) ++duplicate_adds_;
      objects_[ObjectKey(*o)] = ResourceVersionOf(*o);
      ++adds_;
    };
    h.on_update = [this](const ObjectPtr&, const ObjectPtr& o) {
      std::lock_guard<std::mutex> lock(mu_);
      if (objects_.count(ObjectKey(*o)) == 0) ++updates_of_unknown_;
      objects_[ObjectKey(*o)] = ResourceVersionOf(*o);
    };
    h.on_delete = [this](const ObjectPtr& o) {
      std::lock_guard<std::mutex> lock(mu_);
      if (objects_.erase(ObjectKey(*o)) == 0) ++deletes_of_unknown_;
      ++deletes_;
    };
    return h;
  }
  std::map<std::string, std::string> Objects() {
    std::lock_guard<std::mutex> lock(mu_);
    return objects_;
  }
  int duplicate_adds() {
    std::lock_guard<std::mutex> lock(mu_);
    return duplicate_adds_;
  }
  int anomalies() {
    std::lock_guard<std::mutex> lock(mu_);
    return updates_of_unknown_ + deletes_of_unknown_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> objects_;
  int adds_ = 0, deletes_ = 0, duplicate_adds_ = 0, updates_of_unknown_ = 0,
      deletes_of_unknown_ = 0;
};

std::map<std::string, std::string> StoreContents(const Store& store) {
  std::map<std::string, std::string> out;
  for (const auto& o : store.List()) out[ObjectKey(*o)] = ResourceVersionOf(*o);
  return out;
}

std::map<std::string, std::string> ServerContents(Client* client, const std::string& ns) {
  ApiResult<ListResult> list = client->ListAll(resources::ConfigMaps(), ns);
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  std::map<std::string, std::string> out;
  if (!list.ok()) return out;
  for (const auto& o : list->items) out[ObjectKey(o)] = ResourceVersionOf(o);
  return out;
}

TEST(WatchTest, DeliversAddsUpdatesAndDeletesInOrder) {
  const std::string ns = ControlPlane::CreateNamespace("watch");
  auto client = ControlPlane::NewClient();
  ApiResult<json> list = client->List(resources::ConfigMaps(), ns);
  ASSERT_TRUE(list.ok());
  WatchOptions options;
  options.resource_version = (*list)["metadata"]["resourceVersion"];

  std::mutex mu;
  std::vector<WatchEvent> events;
  ApiResult<WatchEnd> end = WatchEnd::kServerClosed;
  std::jthread watcher([&](std::stop_token stop) {
    end = client->Watch(
        resources::ConfigMaps(), ns, options,
        [&](WatchEvent&& e) {
          if (e.type == WatchEventType::kBookmark) return true;
          std::lock_guard<std::mutex> lock(mu);
          events.push_back(std::move(e));
          return events.size() < 5;
        },
        stop);
  });

  auto cms = resources::ConfigMaps();
  ASSERT_TRUE(client->Create(cms, ns, ConfigMap(ns, "a", {{"v", "1"}})).ok());
  ASSERT_TRUE(client->MergePatch(cms, ns, "a", {{"data", {{"v", "2"}}}}).ok());
  ASSERT_TRUE(client->Create(cms, ns, ConfigMap(ns, "b")).ok());
  ASSERT_TRUE(client->MergePatch(cms, ns, "a", {{"data", {{"v", "3"}}}}).ok());
  ASSERT_TRUE(client->Delete(cms, ns, "a").ok());
  watcher.join();
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(*end, WatchEnd::kStoppedByCaller);

  ASSERT_EQ(events.size(), 5u);
  const std::pair<WatchEventType, std::string> want[] = {
      {WatchEventType::kAdded, "a"},   {WatchEventType::kModified, "a"},
      {WatchEventType::kAdded, "b"},   {WatchEventType::kModified, "a"},
      {WatchEventType::kDeleted, "a"},
  };
  uint64_t previous_rv = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].type, want[i].first) << i;
    EXPECT_EQ(events[i].object["metadata"]["name"], want[i].second) << i;
    const uint64_t rv = std::stoull(ResourceVersionOf(events[i].object));
    EXPECT_GT(rv, previous_rv) << i;
    previous_rv = rv;
  }
  EXPECT_EQ(events[1].object["data"]["v"], "2");
  EXPECT_EQ(events[3].object["data"]["v"], "3");
}

TEST(WatchTest, StopTokenCancelsAnIdleWatch) {
  const std::string ns = ControlPlane::CreateNamespace("cancel");
  auto client = ControlPlane::NewClient();
  // The watch is established once its response headers arrived.
  struct Established final : RequestObserver {
    void OnRequest(std::string_view, int http_code, double) override {
      if (http_code == 200) ok = true;
    }
    std::atomic<bool> ok{false};
  } established;
  client->SetObserver(&established);
  ApiResult<WatchEnd> end = WatchEnd::kServerClosed;
  std::stop_source stop;
  std::thread watcher([&] {
    end = client->Watch(
        resources::ConfigMaps(), ns, WatchOptions{}, [](WatchEvent&&) { return true; },
        stop.get_token());
  });
  ASSERT_TRUE(Eventually([&] { return established.ok.load(); }, std::chrono::seconds(30)));
  stop.request_stop();
  watcher.join();
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(*end, WatchEnd::kCancelled);
}

TEST(WatchTest, ExpiredResourceVersionIsGone) {
  const std::string ns = ControlPlane::CreateNamespace("expired");
  auto client = ControlPlane::NewClient();
  ApiResult<json> first = client->Create(resources::ConfigMaps(), ns, ConfigMap(ns, "old"));
  ASSERT_TRUE(first.ok());
  const std::string old_rv = ResourceVersionOf(*first);
  ASSERT_TRUE(client->Create(resources::ConfigMaps(), ns, ConfigMap(ns, "newer")).ok());
  // Make old_rv unservable: drop etcd's history before now, and restart the
  // API server so that its watch cache starts after it too.
  ApiResult<json> now = client->List(resources::ConfigMaps(), ns);
  ASSERT_TRUE(now.ok());
  Status compacted = CompactEtcd((*now)["metadata"]["resourceVersion"]);
  ASSERT_TRUE(compacted.ok()) << compacted.ToString();
  Status restarted = ControlPlane::Script("restart-apiserver");
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();

  auto fresh = ControlPlane::NewClient();
  WatchOptions options;
  options.resource_version = old_rv;
  options.timeout_seconds = 30;
  int delivered = 0;
  ApiResult<WatchEnd> end = fresh->Watch(resources::ConfigMaps(), ns, options,
                                         [&](WatchEvent&&) { return ++delivered < 1; });
  ASSERT_FALSE(end.ok()) << "the watch from an expired resourceVersion delivered " << delivered
                         << " events";
  EXPECT_TRUE(end.error().IsGone()) << end.status().ToString();
  EXPECT_EQ(end.error().http_code, 410);
  EXPECT_EQ(end.status().code(), StatusCode::kOutOfRange);
}

TEST(InformerTest, SyncsThenFollowsChanges) {
  const std::string ns = ControlPlane::CreateNamespace("informer");
  auto client = ControlPlane::NewClient();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        client->Create(resources::ConfigMaps(), ns, ConfigMap(ns, "pre-" + std::to_string(i)))
            .ok());
  }
  Mirror mirror;
  WatcherOptions options;
  options.page_size = 2;  // the initial list takes three pages
  Informer informer(client.get(), resources::ConfigMaps(), ns, options, mirror.Handlers());
  EXPECT_FALSE(informer.HasSynced());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  EXPECT_EQ(informer.store().Size(), 5u);
  ASSERT_TRUE(client->Create(resources::ConfigMaps(), ns, ConfigMap(ns, "post")).ok());
  ASSERT_TRUE(client->Delete(resources::ConfigMaps(), ns, "pre-0").ok());
  ASSERT_TRUE(
      client->MergePatch(resources::ConfigMaps(), ns, "pre-1", {{"data", {{"x", "y"}}}}).ok());
  const auto server = ServerContents(client.get(), ns);
  ASSERT_TRUE(Eventually([&] { return StoreContents(informer.store()) == server; }));
  EXPECT_EQ(mirror.Objects(), server);
  EXPECT_EQ(mirror.anomalies(), 0);
  EXPECT_EQ(informer.stats().lists, 1u);
}

TEST(InformerTest, AThrowingHandlerDoesNotStopTheInformer) {
  const std::string ns = ControlPlane::CreateNamespace("throwing");
  auto client = ControlPlane::NewClient();
  const auto cms = resources::ConfigMaps();
  std::mutex mu;
  std::set<std::string> added;
  InformerHandlers handlers;
  handlers.on_add = [&](const ObjectPtr& object) {
    const std::string name = (*object)["metadata"]["name"];
    if (name == "poison") throw std::runtime_error("handler bug");
    std::lock_guard<std::mutex> lock(mu);
    added.insert(name);
  };
  Informer informer(client.get(), cms, ns, WatcherOptions{}, handlers);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(client->Create(cms, ns, ConfigMap(ns, "poison")).ok());
  ASSERT_TRUE(client->Create(cms, ns, ConfigMap(ns, "after")).ok());
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return added.count("after") > 0;
  }));
  EXPECT_NE(informer.store().Get(ns + "/poison"), nullptr);
  EXPECT_GE(informer.stats().errors, 1u);
}

// Stop() must not wait for a list stuck on the network (the client's
// request timeout is 30 s, with retries): the stop token cancels it.
TEST(InformerTest, StopsPromptlyWhileItsListHangs) {
  TcpProxy proxy(ControlPlane::ApiServerPort());
  proxy.Blackhole();
  ClientConfig via_proxy = ControlPlane::Config();
  via_proxy.server = "https://127.0.0.1:" + std::to_string(proxy.port());
  auto client = ControlPlane::NewClient(via_proxy);
  Informer informer(client.get(), resources::ConfigMaps(), "default", WatcherOptions{}, {});
  informer.Start();
  // The list is in flight: its connection reached the (silent) proxy.
  ASSERT_TRUE(Eventually([&] { return proxy.accepted() > 0; }, std::chrono::seconds(30)));
  EXPECT_FALSE(informer.HasSynced());
  const auto before = std::chrono::steady_clock::now();
  informer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(3));
}

TEST(InformerTest, SurvivesAnApiServerRestartMidWatch) {
  const std::string ns = ControlPlane::CreateNamespace("restart");
  auto client = ControlPlane::NewClient();
  ASSERT_TRUE(client->Create(resources::ConfigMaps(), ns, ConfigMap(ns, "before")).ok());
  Mirror mirror;
  Informer informer(client.get(), resources::ConfigMaps(), ns, WatcherOptions{}, mirror.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(client->Create(resources::ConfigMaps(), ns, ConfigMap(ns, "during-watch")).ok());
  ASSERT_TRUE(Eventually([&] { return informer.store().Get(ns + "/during-watch") != nullptr; }));
  const uint64_t watches_before = informer.stats().watches;

  Status restarted = ControlPlane::Script("restart-apiserver");
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();

  // Writes after the restart, on a fresh client (the old one's pooled
  // connections died with the server).
  auto writer = ControlPlane::NewClient();
  ASSERT_TRUE(writer->Create(resources::ConfigMaps(), ns, ConfigMap(ns, "after")).ok());
  ASSERT_TRUE(
      writer->MergePatch(resources::ConfigMaps(), ns, "before", {{"data", {{"k", "v"}}}}).ok());
  ASSERT_TRUE(writer->Delete(resources::ConfigMaps(), ns, "during-watch").ok());
  const auto server = ServerContents(writer.get(), ns);
  ASSERT_TRUE(Eventually([&] { return StoreContents(informer.store()) == server; },
                         std::chrono::seconds(90)))
      << "store has " << informer.store().Size() << " objects";
  EXPECT_EQ(mirror.Objects(), server);
  EXPECT_EQ(mirror.anomalies(), 0);
  EXPECT_EQ(mirror.duplicate_adds(), 0);
  EXPECT_GT(informer.stats().watches, watches_before);  // it reconnected
  EXPECT_GE(informer.stats().errors, 1u);               // and noticed the break
}

TEST(InformerTest, DetectsASilentWatchAndRestartsIt) {
  const std::string ns = ControlPlane::CreateNamespace("silent");
  auto writer = ControlPlane::NewClient();
  const auto cms = resources::ConfigMaps();
  TcpProxy proxy(ControlPlane::ApiServerPort());
  ClientConfig via_proxy = ControlPlane::Config();
  via_proxy.server = "https://127.0.0.1:" + std::to_string(proxy.port());
  auto watched = ControlPlane::NewClient(via_proxy);
  WatcherOptions options;
  options.watch_timeout_seconds = 5;
  options.watch_silence_margin_seconds = 3;
  Mirror mirror;
  Informer informer(watched.get(), cms, ns, options, mirror.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(writer->Create(cms, ns, ConfigMap(ns, "before-stall")).ok());
  ASSERT_TRUE(Eventually([&] { return informer.store().Get(ns + "/before-stall") != nullptr; }));
  const uint64_t errors_before = informer.stats().errors;

  // The open watch connection stops delivering anything, even the server's
  // clean end of the watch: only the client's silence timeout can notice.
  proxy.Stall();
  ASSERT_TRUE(writer->Create(cms, ns, ConfigMap(ns, "during-stall")).ok());
  ASSERT_TRUE(Eventually([&] { return informer.store().Get(ns + "/during-stall") != nullptr; },
                         std::chrono::seconds(90)));
  EXPECT_GT(informer.stats().errors, errors_before) << "the stalled watch never timed out";
  const auto server = ServerContents(writer.get(), ns);
  EXPECT_EQ(StoreContents(informer.store()), server);
  EXPECT_EQ(mirror.Objects(), server);
}

TEST(InformerTest, RelistsAfterGoneWithoutLosingOrDuplicatingObjects) {
  const std::string ns = ControlPlane::CreateNamespace("gone");
  auto writer = ControlPlane::NewClient();
  const auto cms = resources::ConfigMaps();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(writer->Create(cms, ns, ConfigMap(ns, "cm-" + std::to_string(i))).ok());
  }

  TcpProxy proxy(ControlPlane::ApiServerPort());
  ClientConfig via_proxy = ControlPlane::Config();
  via_proxy.server = "https://127.0.0.1:" + std::to_string(proxy.port());
  auto watched = ControlPlane::NewClient(via_proxy);
  Mirror mirror;
  Informer informer(watched.get(), cms, ns, WatcherOptions{}, mirror.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  EXPECT_EQ(informer.store().Size(), 20u);
  ASSERT_TRUE(writer->Create(cms, ns, ConfigMap(ns, "seen-live")).ok());
  ASSERT_TRUE(Eventually([&] { return informer.store().Size() == 21u; }));
  const uint64_t lists_before = informer.stats().lists;

  // Partition the informer, change things it cannot see...
  proxy.Cut();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(writer->Create(cms, ns, ConfigMap(ns, "new-" + std::to_string(i))).ok());
  }
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        writer->MergePatch(cms, ns, "cm-" + std::to_string(i), {{"data", {{"u", "1"}}}}).ok());
  }
  for (int i = 5; i < 10; ++i) {
    ASSERT_TRUE(writer->Delete(cms, ns, "cm-" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(writer->Delete(cms, ns, "seen-live").ok());

  // ...then make its resourceVersion unservable: compact etcd's history up
  // to now and restart the API server, which empties its watch cache.
  ApiResult<json> now = writer->List(cms, ns);
  ASSERT_TRUE(now.ok());
  Status compacted = CompactEtcd((*now)["metadata"]["resourceVersion"]);
  ASSERT_TRUE(compacted.ok()) << compacted.ToString();
  Status restarted = ControlPlane::Script("restart-apiserver");
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  auto fresh_writer = ControlPlane::NewClient();
  ASSERT_TRUE(fresh_writer->Create(cms, ns, ConfigMap(ns, "after-restart")).ok());
  proxy.Restore();

  const auto server = ServerContents(fresh_writer.get(), ns);
  ASSERT_EQ(server.size(), 20u - 5u + 10u + 1u);
  ASSERT_TRUE(Eventually([&] { return StoreContents(informer.store()) == server; },
                         std::chrono::seconds(120)))
      << "store has " << informer.store().Size() << " objects, server " << server.size();
  EXPECT_EQ(mirror.Objects(), server);
  EXPECT_EQ(mirror.anomalies(), 0);
  EXPECT_EQ(mirror.duplicate_adds(), 0);
  const WatcherStats stats = informer.stats();
  EXPECT_GE(stats.gone, 1u) << "no 410 was seen; the test did not exercise the re-list";
  EXPECT_GT(stats.lists, lists_before);
}

}  // namespace
}  // namespace ember::kube::testing
