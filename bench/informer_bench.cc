// Informer benchmark against the real control plane (hack/controlplane.sh).
//
// Prints, for N ConfigMaps (default 10,000):
//   - how fast they were created (a pool of writer threads, for context);
//   - list-then-watch: time from Start() to synced, and the process's peak
//     RSS (VmHWM, reset just before) and RSS once synced;
//   - live events: M merge patches (default 10,000) written by the pool while
//     the informer runs; the write rate and how long after the last write the
//     informer had applied every event (its lag);
//   - replay: a watch from the resourceVersion before the burst, so the API
//     server streams all M events at once; decoded, applied to a Store and
//     handed to a handler as the informer does. This is the rate the
//     client-side pipeline sustains when it, not the writers, is the limit.
//
//   ember-bench-informer [--kubeconfig PATH] [--objects N] [--updates M] [--threads T]
//
// Figures are printed, not asserted.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "operator/informer/informer.h"
#include "operator/kube/client/client.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace ember::kube;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

long StatusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux 4.0+), so the peak measured next
// belongs to the phase that follows.
void ResetPeakRss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

template <typename F>
int RunPool(int threads, int count, F&& work) {
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        if (!work(i)) ++failures;
      }
    });
  }
  for (auto& t : pool) t.join();
  return failures.load();
}

json ConfigMap(const std::string& ns, int i) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", "cm-" + std::to_string(i)},
            {"namespace", ns},
            {"labels", {{"app", "ember-bench"}, {"shard", std::to_string(i % 16)}}}}},
          {"data", {{"spark.executor.instances", "4"}, {"payload", std::string(256, 'x')}}}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig;
  int objects = 10000;
  int updates = 10000;
  int threads = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--kubeconfig")
      kubeconfig = argv[i + 1];
    else if (flag == "--objects")
      objects = std::stoi(argv[i + 1]);
    else if (flag == "--updates")
      updates = std::stoi(argv[i + 1]);
    else if (flag == "--threads")
      threads = std::stoi(argv[i + 1]);
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  ember::Result<ClientConfig> config = LoadKubeconfig(KubeconfigOptions{kubeconfig, ""});
  if (!config.ok()) {
    std::cerr << "kubeconfig: " << config.status().ToString() << "\n";
    return 1;
  }
  auto client_or = Client::FromConfig(*config);
  if (!client_or.ok()) {
    std::cerr << client_or.status().ToString() << "\n";
    return 1;
  }
  Client* client = client_or->get();
  const std::string ns = "bench-" + std::to_string(std::random_device{}() % 1000000000);
  json namespace_object = {
      {"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
  if (auto created = client->Create(resources::Namespaces(), "", namespace_object); !created.ok()) {
    std::cerr << "namespace: " << created.status().ToString() << "\n";
    return 1;
  }
  std::printf("informer bench: %d ConfigMaps (~%zu bytes of data each) in %s, %d writer threads\n",
              objects, ConfigMap(ns, 0).dump().size(), ns.c_str(), threads);

  auto start = Clock::now();
  int failed = RunPool(threads, objects, [&](int i) {
    return client->Create(resources::ConfigMaps(), ns, ConfigMap(ns, i)).ok();
  });
  double create_s = Seconds(Clock::now() - start);
  std::printf("create:  %d objects in %.2f s (%.0f/s), %d failed\n", objects, create_s,
              objects / create_s, failed);

  std::atomic<int64_t> adds{0};
  std::atomic<int64_t> updates_seen{0};
  InformerHandlers handlers;
  handlers.on_add = [&](const ObjectPtr&) { ++adds; };
  handlers.on_update = [&](const ObjectPtr&, const ObjectPtr&) { ++updates_seen; };
  const long rss_before_kb = StatusKb("VmRSS");
  ResetPeakRss();
  Informer informer(client, resources::ConfigMaps(), ns, WatcherOptions{}, handlers);
  start = Clock::now();
  informer.Start();
  if (!informer.WaitForSync(std::chrono::minutes(5))) {
    std::cerr << "informer did not sync\n";
    return 1;
  }
  const double sync_s = Seconds(Clock::now() - start);
  const long hwm_kb = StatusKb("VmHWM");
  const long rss_synced_kb = StatusKb("VmRSS");
  std::printf("sync:    list-then-watch of %zu objects in %.2f s (%d pages of 500)\n",
              informer.store().Size(), sync_s, (objects + 499) / 500);
  std::printf(
      "memory:  RSS %.1f MiB before, peak %.1f MiB during sync, %.1f MiB synced "
      "(%.1f KiB per object held)\n",
      rss_before_kb / 1024.0, hwm_kb / 1024.0, rss_synced_kb / 1024.0,
      static_cast<double>(rss_synced_kb - rss_before_kb) / informer.store().Size());

  ListOptions one;
  one.limit = 1;
  ApiResult<json> before_burst = client->List(resources::ConfigMaps(), ns, one);
  const std::string burst_rv =
      before_burst.ok() ? (*before_burst)["metadata"].value("resourceVersion", "") : "";
  start = Clock::now();
  failed = RunPool(threads, updates, [&](int i) {
    // Never the initial value: a no-op patch produces no event.
    json patch = {{"data", {{"spark.executor.instances", "updated-" + std::to_string(i)}}}};
    return client
        ->MergePatch(resources::ConfigMaps(), ns, "cm-" + std::to_string(i % objects), patch)
        .ok();
  });
  const auto writes_done = Clock::now();
  const int expected = updates - failed;
  while (updates_seen.load() < expected && Clock::now() - writes_done < std::chrono::minutes(2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const auto applied = Clock::now();
  std::printf(
      "live:    %d updates written in %.2f s (%.0f/s, %d failed); informer applied %lld "
      "of them %.3f s after the last write (%.0f events/s end to end)\n",
      updates, Seconds(writes_done - start), updates / Seconds(writes_done - start), failed,
      static_cast<long long>(updates_seen.load()), Seconds(applied - writes_done),
      updates_seen.load() / Seconds(applied - start));
  informer.Stop();

  // Replay the burst from the watch cache: the client is the bottleneck.
  Store store;
  for (const auto& object : informer.store().List()) store.Apply(*object);
  int64_t replayed = 0;
  int64_t handled = 0;
  WatchOptions watch;
  watch.resource_version = burst_rv;
  watch.allow_bookmarks = false;
  start = Clock::now();
  ApiResult<WatchEnd> end =
      client->Watch(resources::ConfigMaps(), ns, watch, [&](WatchEvent&& event) {
        if (event.type != WatchEventType::kModified) return true;
        ObjectPtr old = store.Apply(std::move(event.object));
        if (old) ++handled;
        return ++replayed < expected;
      });
  const double replay_s = Seconds(Clock::now() - start);
  if (!end.ok()) {
    std::printf("replay:  failed after %lld events: %s\n", static_cast<long long>(replayed),
                end.status().ToString().c_str());
  } else {
    std::printf("replay:  %lld events decoded and applied in %.2f s (%.0f events/s)\n",
                static_cast<long long>(replayed), replay_s, replayed / replay_s);
  }
  std::printf(
      "note:    namespace %s is left behind (namespace deletion needs "
      "kube-controller-manager); `hack/controlplane.sh down` drops it\n",
      ns.c_str());
  return 0;
}
