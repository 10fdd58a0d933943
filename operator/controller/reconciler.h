// Reconciles one SparkApplication: observe, Decide(), execute, write status.
//
// One call handles one key ("namespace/name") from the work queue and
// returns exactly one Outcome: done, requeue after a delay (a timeout or an
// interval is running), or retry with backoff (the API failed). The work
// queue never runs one key on two workers at once, so per-application
// bookkeeping here needs no more than a map lock.
//
// Against a lagging cache:
//   - pods created moments ago and not yet in the cache are assumed to exist
//     (Pending) for assume_created_for, as client-go's expectations do;
//   - a pod the status expects but the cache lacks is looked up live before
//     anything is concluded from its absence (a stale cache must never fail
//     an application);
//   - after writing the status, a cache still holding the version the write
//     replaced is known to be behind, and the key is looked at again shortly
//     instead of acting on it.
//
// Every create treats 409 AlreadyExists as success and every delete treats
// 404 as success, so replaying a plan after a crash creates nothing twice.
//
// Thread-safety: Reconcile may be called from several threads at once, for
// different keys.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "operator/controller/decide.h"
#include "operator/controller/operator_metrics.h"
#include "operator/events/event_queue.h"
#include "operator/informer/store.h"
#include "operator/kube/client/client.h"
#include "operator/workqueue/workers.h"

namespace ember::sparkapp {

kube::GroupVersionResource SparkApplications();

// What the reconciler reads from the informers' caches.
struct Caches {
  std::function<kube::ObjectPtr(const std::string& app_key)> application;
  // The cached pods whose controller owner is the application.
  std::function<std::vector<kube::ObjectPtr>(const std::string& app_key)> pods;
};

struct ReconcilerOptions {
  std::string default_executor_image;
  std::chrono::seconds assume_created_for{30};
  int max_parallel_requests = 8;
  std::function<TimePoint()> clock = [] { return std::chrono::system_clock::now(); };
};

class Reconciler {
 public:
  // `client`, `events` and `metrics` must outlive the reconciler; `events`
  // and `metrics` may be null.
  Reconciler(kube::Client* client, Caches caches, kube::EventQueue* events,
             OperatorMetrics* metrics, ReconcilerOptions options);

  workqueue::Outcome Reconcile(const std::string& key);

 private:
  struct Created {
    PodView view;
    TimePoint at;
  };
  // What this process remembers about one application between reconciles.
  struct Memory {
    std::map<std::string, Created> created;  // pod name -> when we created it
    std::string stale_resource_version;      // the version our last status write replaced
  };

  workqueue::Outcome ReconcileObject(const std::string& key, const nlohmann::json& app);
  Observed Observe(const std::string& key, const nlohmann::json& app);
  Status LivePods(Observed* observed);
  // Executes the actions; a create refused for good comes back in
  // *create_failure (and OK), anything transient as the error.
  Status Execute(const std::string& key, const Observed& observed, const std::vector<Action>& actions,
                 std::optional<CreateFailure>* create_failure);
  Status CreateOne(const std::string& key, const Observed& observed, const Action& action,
                   std::optional<CreateFailure>* create_failure);
  Status DeleteOne(const Observed& observed, const Action& action);
  void Remember(const std::string& key, const Action& action, TimePoint now);

  kube::Client* const client_;
  const Caches caches_;
  kube::EventQueue* const events_;
  OperatorMetrics* const metrics_;
  const ReconcilerOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, Memory> memory_;
};

}  // namespace ember::sparkapp
