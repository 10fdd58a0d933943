// The SparkApplication controller: informers, an owner index, the work queue
// and the workers that run the Reconciler.
//
// Two informers per watched namespace (or one pair for all namespaces):
// SparkApplications, and pods carrying the ember.dev/app-name label. The pod
// cache is filtered by that label on the server and trimmed (TrimPod), so
// the operator never holds unrelated pods, nor the specs of its own; both
// caches keep objects compact (compact_cache.h). Each
// pod maps back to its application through its controller ownerReference;
// every change to either enqueues the application's key.
//
// Informers start at once, so that a standby replica has a warm cache and
// reports ready; workers start only when StartWorkers() is called (by the
// leader).
//
// Thread-safety: Start/StartWorkers/Stop from one thread; everything else
// from any.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "operator/controller/operator_metrics.h"
#include "operator/controller/reconciler.h"
#include "operator/events/event_queue.h"
#include "operator/informer/informer.h"
#include "operator/workqueue/workers.h"
#include "operator/workqueue/workqueue.h"

namespace ember::sparkapp {

struct ControllerOptions {
  // Namespaces to watch; empty watches all.
  std::vector<std::string> namespaces;
  int workers = 16;
  ReconcilerOptions reconciler;
  kube::WatcherOptions watch;
};

// Pods by the application that owns them. Thread-safe.
class OwnerIndex {
 public:
  // Records `pod`, or forgets it when `pod` names no application.
  void Update(const std::string& pod_key, const std::string& app_key);
  void Remove(const std::string& pod_key);
  std::vector<std::string> PodsOf(const std::string& app_key) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> owner_of_;
  std::map<std::string, std::set<std::string>> pods_of_;
};

class Controller {
 public:
  // `client` must outlive the controller; `events` and `metrics` may be null.
  Controller(kube::Client* client, kube::EventQueue* events, OperatorMetrics* metrics,
             ControllerOptions options);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  void StartInformers();
  bool Synced() const;
  bool WaitForSync(std::chrono::milliseconds timeout) const;
  void StartWorkers();
  // Stops the workers (queued keys are dropped) and the informers.
  void Stop();

  // For metrics.
  std::map<std::string, int64_t> ApplicationsByState() const;
  int64_t QueueDepth() const { return static_cast<int64_t>(queue_.Len()); }
  std::map<std::string, std::pair<uint64_t, uint64_t>> WatchStats() const;

 private:
  kube::ObjectPtr Application(const std::string& key) const;
  std::vector<kube::ObjectPtr> PodsOf(const std::string& app_key) const;
  void OnPod(const kube::ObjectPtr& pod, bool deleted);

  kube::Client* const client_;
  const ControllerOptions options_;
  workqueue::WorkQueue queue_;
  OwnerIndex index_;
  // Keyed by namespace ("" when watching all).
  std::map<std::string, std::unique_ptr<kube::Informer>> apps_;
  std::map<std::string, std::unique_ptr<kube::Informer>> pods_;
  Reconciler reconciler_;
  std::unique_ptr<workqueue::WorkerPool> workers_;
};

}  // namespace ember::sparkapp
