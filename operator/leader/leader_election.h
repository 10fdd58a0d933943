// Leader election on a coordination.k8s.io/v1 Lease.
//
// Replicas of a controller compete for one Lease object. The holder renews
// it every retry_period; the others poll it every retry_period and take it
// over once its record has not changed for lease_duration, as measured on
// their own clock (so no clock synchronisation between nodes is assumed,
// only that clocks run at roughly the same rate). Writes use the Lease's
// resourceVersion, so two candidates can never both win the same round.
//
// Timing (client-go's defaults, all settable):
//   lease_duration 15 s  how long a silent leader is trusted; the worst-case
//                        gap before a crashed leader is replaced.
//   renew_deadline 10 s  how long the leader keeps retrying a failed renew
//                        before it gives up leadership; shorter than the
//                        lease, so it stops before anyone else may start.
//   retry_period    2 s  the interval of renew and acquire attempts.
//
// Losing leadership takes effect at once: IsLeader() turns false and the
// stop token given to on_started_leading fires before on_stopped_leading is
// called. The renew deadline is enforced by a watchdog, independently of the
// requests: when renew_deadline has passed since the last successful renewal
// was sent, the leader steps down and the request in flight is cancelled,
// however long the network would have made it wait. Lease requests are sent
// once (no retries; the next round is the retry) with a timeout of the renew
// deadline. The stop token of Run does not cancel a lease request in flight
// (a write cancelled after the server applied it would leave a lease that
// cannot be released), so Run may take up to that timeout to return. The leader also steps down at
// once if it finds the Lease held by someone else. On a clean shutdown (the stop token of Run
// fires) the leader first waits for its leading work to return and then releases the Lease (empty
// holder, 1 s duration), so a successor starts within a retry period instead of a lease duration.
//
// Thread-safety: Run() is called once, on one thread. IsLeader() and
// Leader() may be called from any thread. Callbacks run on internal threads:
// on_started_leading on a thread of its own (it should run until its token
// fires), the others on Run()'s thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include <nlohmann/json.hpp>

#include "ember/status.h"
#include "operator/kube/client/client.h"

namespace ember::kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  // Unique per replica; the pod name is customary.
  std::string identity;
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  bool release_on_cancel = true;
};

struct LeaderCallbacks {
  // Runs on its own thread while this replica leads; must return promptly
  // once `stop` fires.
  std::function<void(std::stop_token stop)> on_started_leading;
  std::function<void()> on_stopped_leading;
  // The holder changed (including to this replica); "" when released.
  std::function<void(const std::string& identity)> on_new_leader;
};

class LeaderElector {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // For Create only (the tag is private).
  LeaderElector(PrivateTag, Client* client, LeaderElectionConfig config, LeaderCallbacks callbacks);
  // kInvalidArgument unless lease_duration > renew_deadline > retry_period > 0
  // and names are set. The Lease holds whole seconds, so the comparison uses
  // lease_duration rounded down to a second. `client` must outlive the elector.
  static Result<std::unique_ptr<LeaderElector>> Create(Client* client, LeaderElectionConfig config,
                                                       LeaderCallbacks callbacks);

  // Campaigns until leading, leads until leadership is lost or `stop` fires,
  // then returns. To campaign again after a loss, call Run() again (most
  // controllers exit instead, and let their Deployment restart them).
  void Run(std::stop_token stop);

  bool IsLeader() const { return leading_.load(); }
  // The last observed holder ("" if none).
  std::string Leader() const;

 private:
  enum class Attempt { kAcquired, kHeldByOther, kFailed };

  // `sent` is set to when the first request of the attempt left: the
  // renew deadline counts from there, since the lease may have been renewed
  // on the server at any moment after it.
  Attempt TryAcquireOrRenew(std::stop_token stop, std::chrono::steady_clock::time_point* sent);
  ApiResult<nlohmann::json> Call(const Result<HttpRequest>& request, std::stop_token stop);
  void Release();
  void Observe(const nlohmann::json& spec);
  void Sleep(std::stop_token stop, std::chrono::milliseconds period);

  Client* const client_;
  const LeaderElectionConfig config_;
  const LeaderCallbacks callbacks_;
  std::atomic<bool> leading_{false};

  mutable std::mutex mu_;
  std::string observed_holder_;
  nlohmann::json observed_spec_;
  std::chrono::steady_clock::time_point observed_time_{};
  nlohmann::json last_lease_;  // as last read or written, for release
};

}  // namespace ember::kube
