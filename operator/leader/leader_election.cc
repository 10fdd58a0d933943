#include "operator/leader/leader_election.h"

#include <condition_variable>
#include <random>
#include <thread>

#include "common/log.h"
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
  if (config.lease_duration <= config.renew_deadline) {
    return InvalidArgumentError("leader election lease duration must exceed the renew deadline");
  }
  return std::unique_ptr<LeaderElector>(
      new LeaderElector(client, std::move(config), std::move(callbacks)));
}

LeaderElector::LeaderElector(Client* client, LeaderElectionConfig config, LeaderCallbacks callbacks)
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
  std::string holder = spec.value("holderIdentity", "");
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

LeaderElector::Attempt LeaderElector::TryAcquireOrRenew() {
  const auto gvr = resources::Leases();
  const std::string now = FormatMicroTime(std::chrono::system_clock::now());
  ApiResult<json> current = client_->Get(gvr, config_.lease_namespace, config_.lease_name);
  if (!current.ok()) {
    if (!current.error().IsNotFound()) {
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
    ApiResult<json> created = client_->Create(gvr, config_.lease_namespace, lease);
    if (!created.ok()) return Attempt::kFailed;  // another candidate created it first
    Observe((*created)["spec"]);
    std::lock_guard<std::mutex> lock(mu_);
    last_lease_ = *created;
    return Attempt::kAcquired;
  }
  json lease = std::move(current).value();
  const json spec = lease.value("spec", json::object());
  Observe(spec);
  const std::string holder = spec.value("holderIdentity", "");
  const bool mine = holder == config_.identity;
  if (!holder.empty() && !mine) {
    // Trust the holder for its lease duration from when we saw the record
    // change, on our clock.
    const auto duration = std::chrono::seconds(
        spec.value("leaseDurationSeconds", static_cast<int64_t>(Seconds(config_.lease_duration))));
    std::lock_guard<std::mutex> lock(mu_);
    if (std::chrono::steady_clock::now() < observed_time_ + duration) return Attempt::kHeldByOther;
  }
  json next = spec;
  next["holderIdentity"] = config_.identity;
  next["leaseDurationSeconds"] = Seconds(config_.lease_duration);
  next["renewTime"] = now;
  if (!mine) {
    next["acquireTime"] = now;
    next["leaseTransitions"] = spec.value("leaseTransitions", 0) + (holder.empty() ? 0 : 1);
  }
  lease["spec"] = next;
  // The resourceVersion we read makes this a compare-and-swap: if another
  // candidate wrote in between, we get 409 and lose this round.
  ApiResult<json> updated = client_->Update(gvr, lease);
  if (!updated.ok()) {
    if (!updated.error().IsConflict()) {
      EMBER_LOG(kWarning) << "leader: updating lease " << config_.lease_name << ": "
                          << updated.status().ToString();
    }
    return Attempt::kFailed;
  }
  Observe((*updated)["spec"]);
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
      lease.value("spec", json::object()).value("holderIdentity", "") != config_.identity) {
    return;
  }
  const std::string now = FormatMicroTime(std::chrono::system_clock::now());
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = now;
  ApiResult<json> released = client_->Update(resources::Leases(), lease);
  if (!released.ok()) {
    EMBER_LOG(kWarning) << "leader: releasing lease " << config_.lease_name << ": "
                        << released.status().ToString();
    return;
  }
  EMBER_LOG(kInfo) << "leader: " << config_.identity << " released lease " << config_.lease_name;
}

void LeaderElector::Run(std::stop_token stop) {
  // Campaign.
  while (!stop.stop_requested()) {
    if (TryAcquireOrRenew() == Attempt::kAcquired) break;
    Sleep(stop, Jittered(config_.retry_period));
  }
  if (stop.stop_requested()) return;

  EMBER_LOG(kInfo) << "leader: " << config_.identity << " acquired lease " << config_.lease_name;
  leading_.store(true);
  std::stop_source leading_stop;
  std::jthread work;
  if (callbacks_.on_started_leading) {
    work = std::jthread(
        [this, token = leading_stop.get_token()] { callbacks_.on_started_leading(token); });
  }

  // Renew until lost or told to stop.
  auto last_renew = std::chrono::steady_clock::now();
  bool lost = false;
  while (!stop.stop_requested()) {
    Sleep(stop, config_.retry_period);
    if (stop.stop_requested()) break;
    Attempt attempt = TryAcquireOrRenew();
    if (attempt == Attempt::kAcquired) {
      last_renew = std::chrono::steady_clock::now();
      continue;
    }
    if (attempt == Attempt::kHeldByOther ||
        std::chrono::steady_clock::now() - last_renew >= config_.renew_deadline) {
      lost = true;
      break;
    }
  }

  // Stop the leading work before anything else: another replica may start
  // as soon as the lease is released or expires.
  leading_.store(false);
  leading_stop.request_stop();
  if (work.joinable()) work.join();
  if (lost) {
    EMBER_LOG(kWarning) << "leader: " << config_.identity << " lost lease " << config_.lease_name;
  } else if (config_.release_on_cancel) {
    Release();
  }
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
}

}  // namespace ember::kube
