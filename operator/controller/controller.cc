#include "operator/controller/controller.h"

#include "operator/controller/names.h"
#include "operator/controller/compact_cache.h"
#include "operator/kube/core/json_util.h"

namespace ember::sparkapp {
namespace {

using nlohmann::json;

std::string NamespaceOf(const std::string& key) {
  const size_t slash = key.find('/');
  return slash == std::string::npos ? "" : key.substr(0, slash);
}

workqueue::QueueObserver QueueHooks(OperatorMetrics* metrics) {
  workqueue::QueueObserver hooks;
  if (metrics == nullptr) return hooks;
  hooks.on_add = [metrics] { metrics->QueueAdded(); };
  hooks.on_retry = [metrics] { metrics->QueueRetried(); };
  hooks.on_get = [metrics](double seconds) { metrics->QueueWaited(seconds); };
  return hooks;
}

}  // namespace

void OwnerIndex::Update(const std::string& pod_key, const std::string& app_key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = owner_of_.find(pod_key);
  if (it != owner_of_.end()) {
    if (it->second == app_key) return;
    auto& pods = pods_of_[it->second];
    pods.erase(pod_key);
    if (pods.empty()) pods_of_.erase(it->second);
    owner_of_.erase(it);
  }
  if (app_key.empty()) return;
  owner_of_[pod_key] = app_key;
  pods_of_[app_key].insert(pod_key);
}

void OwnerIndex::Remove(const std::string& pod_key) {
  Update(pod_key, "");
}

std::vector<std::string> OwnerIndex::PodsOf(const std::string& app_key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pods_of_.find(app_key);
  if (it == pods_of_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

Controller::Controller(kube::Client* client, kube::EventQueue* events, OperatorMetrics* metrics,
                       ControllerOptions options)
    : client_(client),
      options_(std::move(options)),
      queue_(workqueue::RateLimiterOptions{}, QueueHooks(metrics)),
      reconciler_(client,
                  Caches{[this](const std::string& key) { return Application(key); },
                         [this](const std::string& key) { return PodsOf(key); }},
                  events, metrics, options_.reconciler) {
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  for (const std::string& ns : namespaces) {
    kube::InformerHandlers app_handlers;
    app_handlers.on_add = [this](const kube::ObjectPtr& o) { queue_.Add(kube::ObjectKey(*o)); };
    app_handlers.on_update = [this](const kube::ObjectPtr&, const kube::ObjectPtr& o) {
      queue_.Add(kube::ObjectKey(*o));
    };
    app_handlers.on_delete = [this](const kube::ObjectPtr& o) { queue_.Add(kube::ObjectKey(*o)); };
    kube::WatcherOptions app_watch = options_.watch;
    app_watch.transform = CompactApplication;
    apps_[ns] = std::make_unique<kube::Informer>(client_, SparkApplications(), ns, app_watch,
                                                 std::move(app_handlers));

    kube::WatcherOptions pod_watch = options_.watch;
    pod_watch.label_selector = std::string(kAppNameLabel);
    pod_watch.transform = CompactPod;
    // Pods are large before they are trimmed; small pages keep a re-list of
    // thousands from holding a big untrimmed page at once.
    pod_watch.page_size = 100;
    kube::InformerHandlers pod_handlers;
    pod_handlers.on_add = [this](const kube::ObjectPtr& p) { OnPod(p, false); };
    pod_handlers.on_update = [this](const kube::ObjectPtr&, const kube::ObjectPtr& p) { OnPod(p, false); };
    pod_handlers.on_delete = [this](const kube::ObjectPtr& p) { OnPod(p, true); };
    pods_[ns] = std::make_unique<kube::Informer>(client_, kube::resources::Pods(), ns, pod_watch,
                                                 std::move(pod_handlers));
  }
}

Controller::~Controller() {
  Stop();
}

void Controller::OnPod(const kube::ObjectPtr& pod, bool deleted) {
  const std::string key = kube::ObjectKey(*pod);
  const std::string owner = CachedOwner(*pod);
  if (deleted) {
    index_.Remove(key);
  } else {
    index_.Update(key, owner);
  }
  if (!owner.empty()) queue_.Add(owner);
}

void Controller::StartInformers() {
  for (auto& [ns, informer] : pods_) informer->Start();
  for (auto& [ns, informer] : apps_) informer->Start();
}

bool Controller::Synced() const {
  for (const auto& [ns, informer] : apps_) {
    if (!informer->HasSynced()) return false;
  }
  for (const auto& [ns, informer] : pods_) {
    if (!informer->HasSynced()) return false;
  }
  return true;
}

bool Controller::WaitForSync(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto* informers : {&pods_, &apps_}) {
    for (const auto& [ns, informer] : *informers) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !informer->WaitForSync(left)) return false;
    }
  }
  return true;
}

void Controller::StartWorkers() {
  if (workers_) return;
  // Every application is looked at once when a replica starts leading:
  // level-based, whatever happened while no one led.
  for (const auto& [ns, informer] : apps_) {
    for (const std::string& key : informer->store().Keys()) queue_.Add(key);
  }
  workers_ = std::make_unique<workqueue::WorkerPool>(
      &queue_, options_.workers, [this](const std::string& key) { return reconciler_.Reconcile(key); });
}

void Controller::Stop() {
  if (workers_) workers_->Stop();
  workers_.reset();
  queue_.ShutDownNow();
  for (auto& [ns, informer] : apps_) informer->Stop();
  for (auto& [ns, informer] : pods_) informer->Stop();
}

kube::ObjectPtr Controller::Application(const std::string& key) const {
  auto it = apps_.find(apps_.count("") ? "" : NamespaceOf(key));
  if (it == apps_.end()) return nullptr;
  kube::ObjectPtr cached = it->second->store().Get(key);
  if (!cached) return nullptr;
  return std::make_shared<const json>(Expand(*cached));
}

std::vector<kube::ObjectPtr> Controller::PodsOf(const std::string& app_key) const {
  auto it = pods_.find(pods_.count("") ? "" : NamespaceOf(app_key));
  if (it == pods_.end()) return {};
  std::vector<kube::ObjectPtr> out;
  for (const std::string& pod_key : index_.PodsOf(app_key)) {
    if (kube::ObjectPtr pod = it->second->store().Get(pod_key)) {
      out.push_back(std::make_shared<const json>(Expand(*pod)));
    }
  }
  return out;
}

std::map<std::string, int64_t> Controller::ApplicationsByState() const {
  std::map<std::string, int64_t> counts;
  for (const auto& [ns, informer] : apps_) {
    for (const kube::ObjectPtr& app : informer->store().List()) counts[CachedState(*app)] += 1;
  }
  return counts;
}

std::map<std::string, std::pair<uint64_t, uint64_t>> Controller::WatchStats() const {
  std::map<std::string, std::pair<uint64_t, uint64_t>> out;
  for (const auto& [name, informers] : {std::pair{"sparkapplications", &apps_}, std::pair{"pods", &pods_}}) {
    auto& entry = out[name];
    for (const auto& [ns, informer] : *informers) {
      const kube::WatcherStats s = informer->stats();
      entry.first += s.errors;
      entry.second += s.gone;
    }
  }
  return out;
}

}  // namespace ember::sparkapp
