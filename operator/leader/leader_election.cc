#include "operator/leader/leader_election.h"

#include <condition_variable>
#include <random>
#include <thread>

#include "common/log.h"
#include "operator/kube/core/json_util.h"
#include "operator/kube/core/time_format.h"

namespace ember::kube {
namespace {

using nlohmann::json;

// Retries are spread over [period, 1.2 * period], as client-go's JitterFactor
// 1.2, so that candidates started together do not collide every round.
constexpr double kRetryJitter = 0.2;

std::chrono::milliseconds Jittered(std::chrono::milliseconds period) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> spread(1.0, 1.0 + kRetryJitter);
  return std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(period.count()) * spread(rng)));
}

int64_t Seconds(std::chrono::milliseconds d) {
  return std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

}  // namespace

Result<std::unique_ptr<LeaderElector>> LeaderElector::Create(Client* client,
                                                             LeaderElectionConfig config,
                                                             LeaderCallbacks callbacks) {
  if (config.lease_name.empty() || config.lease_namespace.empty() || config.identity.empty()) {
    return InvalidArgumentError("leader election needs a lease name, namespace and identity");
  }
  if (config.retry_period.count() <= 0) {
    return InvalidArgumentError("leader election retry period must be positive");
  }
  if (config.renew_deadline <= config.retry_period) {
    return InvalidArgumentError("leader election renew deadline must exceed the retry period");
  }
  // Checked against what is written to the Lease, whole seconds rounded
  // down: a 10.5 s lease with a 10.2 s renew deadline is a 10 s lease that
  // others may take over before this leader has stepped down.
  if (std::chrono::seconds(Seconds(config.lease_duration)) <= config.renew_deadline) {
    return InvalidArgumentError(
        "leader election lease duration, in whole seconds, must exceed the renew deadline");
  }
  return std::make_unique<LeaderElector>(PrivateTag(), client, std::move(config),
                                         std::move(callbacks));
}

LeaderElector::LeaderElector(PrivateTag, Client* client, LeaderElectionConfig config,
                             LeaderCallbacks callbacks)
    : client_(client), config_(std::move(config)), callbacks_(std::move(callbacks)) {}

std::string LeaderElector::Leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return observed_holder_;
}

void LeaderElector::Sleep(std::stop_token stop, std::chrono::milliseconds period) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, stop, period, [] { return false; });
}

void LeaderElector::Observe(const json& spec) {
  std::string holder = StringAt(spec, "holderIdentity");
  bool changed_holder = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (spec != observed_spec_) {
      observed_spec_ = spec;
      observed_time_ = std::chrono::steady_clock::now();
    }
    if (holder != observed_holder_) {
      observed_holder_ = holder;
      changed_holder = true;
    }
  }
  if (changed_holder && callbacks_.on_new_leader) callbacks_.on_new_leader(holder);
}

ApiResult<json> LeaderElector::Call(const Result<HttpRequest>& request, std::stop_token stop) {
  if (!request.ok()) return request.status();
  // One attempt each: the renew loop is the retry, and a request must not
  // outlive the renew deadline by sitting in the client's retries.
  CallOptions options;
  options.timeout = config_.renew_deadline;
  options.max_retries = 0;
  options.stop = std::move(stop);
  return client_->Do(*request, options);
}

LeaderElector::Attempt LeaderElector::TryAcquireOrRenew(
    std::stop_token stop, std::chrono::steady_clock::time_point* sent) {
  const auto gvr = resources::Leases();
  *sent = std::chrono::steady_clock::now();
  const std::string now = FormatMicroTime(std::chrono::system_clock::now());
  ApiResult<json> current = Call(BuildGet(gvr, config_.lease_namespace, config_.lease_name), stop);
  if (!current.ok()) {
    if (!current.error().IsNotFound()) {
      if (stop.stop_requested()) return Attempt::kFailed;  // cancelled, not a failure to report
      EMBER_LOG(kWarning) << "leader: reading lease " << config_.lease_name << ": "
                          << current.status().ToString();
      return Attempt::kFailed;
    }
    json lease = {
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
        {"spec",
         {{"holderIdentity", config_.identity},
          {"leaseDurationSeconds", Seconds(config_.lease_duration)},
          {"acquireTime", now},
          {"renewTime", now},
          {"leaseTransitions", 0}}}};
    ApiResult<json> created = Call(BuildCreate(gvr, config_.lease_namespace, lease), stop);
    if (!created.ok()) return Attempt::kFailed;  // another candidate created it first
    Observe(ObjectAt(*created, "spec"));
    std::lock_guard<std::mutex> lock(mu_);
    last_lease_ = *created;
    return Attempt::kAcquired;
  }
  json lease = std::move(current).value();
  const json spec = ObjectAt(lease, "spec");
  Observe(spec);
  const std::string holder = StringAt(spec, "holderIdentity");
  const bool mine = holder == config_.identity;
  if (!holder.empty() && !mine) {
    // Trust the holder for its lease duration from when we saw the record
    // change, on our clock.
    const auto duration =
        std::chrono::seconds(IntAt(spec, "leaseDurationSeconds", Seconds(config_.lease_duration)));
    std::lock_guard<std::mutex> lock(mu_);
    if (std::chrono::steady_clock::now() < observed_time_ + duration) return Attempt::kHeldByOther;
  }
  json next = spec;
  next["holderIdentity"] = config_.identity;
  next["leaseDurationSeconds"] = Seconds(config_.lease_duration);
  next["renewTime"] = now;
  if (!mine) {
    next["acquireTime"] = now;
    next["leaseTransitions"] = IntAt(spec, "leaseTransitions", 0) + (holder.empty() ? 0 : 1);
  }
  lease["spec"] = next;
  // The resourceVersion we read makes this a compare-and-swap: if another
  // candidate wrote in between, we get 409 and lose this round.
  ApiResult<json> updated = Call(BuildUpdate(gvr, lease), stop);
  if (!updated.ok()) {
    if (!updated.error().IsConflict() && !stop.stop_requested()) {
      EMBER_LOG(kWarning) << "leader: updating lease " << config_.lease_name << ": "
                          << updated.status().ToString();
    }
    return Attempt::kFailed;
  }
  Observe(ObjectAt(*updated, "spec"));
  std::lock_guard<std::mutex> lock(mu_);
  last_lease_ = *updated;
  return Attempt::kAcquired;
}

void LeaderElector::Release() {
  json lease;
  {
    std::lock_guard<std::mutex> lock(mu_);
    lease = last_lease_;
  }
  if (!lease.is_object() ||
      StringAt(ObjectAt(lease, "spec"), "holderIdentity") != config_.identity) {
    return;
  }
  const std::string now = FormatMicroTime(std::chrono::system_clock::now());
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = now;
  ApiResult<json> released = Call(BuildUpdate(resources::Leases(), lease), {});
  if (!released.ok()) {
    EMBER_LOG(kWarning) << "leader: releasing lease " << config_.lease_name << ": "
                        << released.status().ToString();
    return;
  }
  EMBER_LOG(kInfo) << "leader: " << config_.identity << " released lease " << config_.lease_name;
}

void LeaderElector::Run(std::stop_token stop) {
  using Clock = std::chrono::steady_clock;
  // Campaign.
  Clock::time_point sent{};
  bool acquired = false;
  while (!stop.stop_requested()) {
    // Not cancelled by `stop`: a write cancelled after the server applied
    // it would leave us holding a lease we do not know about, and unable to
    // release it. The call's timeout (the renew deadline) bounds the wait.
    if (TryAcquireOrRenew({}, &sent) == Attempt::kAcquired) {
      acquired = true;
      break;
    }
    Sleep(stop, Jittered(config_.retry_period));
  }
  if (!acquired) return;
  if (stop.stop_requested()) {
    // Won just as we were told to stop: hand the lease back rather than
    // leave it to expire.
    if (config_.release_on_cancel) Release();
    return;
  }

  EMBER_LOG(kInfo) << "leader: " << config_.identity << " acquired lease " << config_.lease_name;
  leading_.store(true);
  std::stop_source leading_stop;
  std::jthread work;
  if (callbacks_.on_started_leading) {
    work = std::jthread(
        [this, token = leading_stop.get_token()] { callbacks_.on_started_leading(token); });
  }

  // Stops the renew loop: fired by the caller's stop token or by the
  // watchdog. Only the watchdog (`deadline_stop`) cancels a renewal in
  // flight: on a clean stop the renewal is let finish, so that the lease
  // we then release carries the resourceVersion the server has.
  std::stop_source renew_stop;
  std::stop_source deadline_stop;
  std::stop_callback forward_stop(stop, [&renew_stop] { renew_stop.request_stop(); });

  // The watchdog enforces the renew deadline on its own clock, so a renewal
  // stuck in the network cannot extend leadership: the deadline counts from
  // when the last successful renewal was sent.
  std::mutex renew_mu;
  std::condition_variable_any renew_cv;
  Clock::time_point last_renew = sent;
  std::atomic<bool> expired{false};
  std::jthread watchdog([&](std::stop_token watchdog_stop) {
    std::unique_lock<std::mutex> lock(renew_mu);
    while (!watchdog_stop.stop_requested()) {
      const Clock::time_point deadline = last_renew + config_.renew_deadline;
      if (Clock::now() >= deadline) {
        expired = true;
        leading_.store(false);
        leading_stop.request_stop();
        deadline_stop.request_stop();
        renew_stop.request_stop();
        return;
      }
      renew_cv.wait_until(lock, watchdog_stop, deadline,
                          [&] { return last_renew + config_.renew_deadline != deadline; });
    }
  });

  // Renew until lost or told to stop.
  bool held_by_other = false;
  const std::stop_token renew_token = renew_stop.get_token();
  while (!renew_token.stop_requested()) {
    Sleep(renew_token, config_.retry_period);
    if (renew_token.stop_requested()) break;
    Attempt attempt = TryAcquireOrRenew(deadline_stop.get_token(), &sent);
    if (attempt == Attempt::kAcquired) {
      std::lock_guard<std::mutex> lock(renew_mu);
      last_renew = sent;
      renew_cv.notify_all();
      continue;
    }
    if (attempt == Attempt::kHeldByOther) {
      held_by_other = true;
      break;
    }
  }
  watchdog.request_stop();
  watchdog.join();
  const bool lost = held_by_other || expired.load();

  // Stop the leading work before anything else: another replica may start
  // as soon as the lease is released or expires.
  leading_.store(false);
  leading_stop.request_stop();
  if (work.joinable()) work.join();
  if (lost) {
    EMBER_LOG(kWarning) << "leader: " << config_.identity << " lost lease " << config_.lease_name
                        << (expired.load() ? " (renew deadline passed)" : "");
  } else if (config_.release_on_cancel) {
    Release();
  }
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
}

}  // namespace ember::kube
