#include "operator/controller/reconciler.h"

#include <future>

#include <openssl/rand.h>

#include "common/log.h"
#include "operator/controller/names.h"
#include "operator/kube/core/json_util.h"
#include "operator/kube/core/time_format.h"

namespace ember::sparkapp {
namespace {

using nlohmann::json;
using workqueue::Outcome;

constexpr size_t kTokenBytes = 32;
// How soon to look again when the cache has not caught up with our own
// status write yet; the watch event that brings it usually comes first.
constexpr std::chrono::milliseconds kCacheCatchUp{1000};

std::string NewToken() {
  unsigned char bytes[kTokenBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 0xf]);
  }
  return token;
}

bool OwnedBy(const json& object, const std::string& uid) {
  const json& metadata = kube::ObjectAt(object, "metadata");
  auto owners = metadata.find("ownerReferences");
  if (owners == metadata.end() || !owners->is_array()) return false;
  for (const json& o : *owners) {
    if (kube::StringAt(o, "uid") == uid) return true;
  }
  return false;
}

PodView View(const json& pod) {
  const std::string role = kube::StringAt(kube::ObjectAt(kube::ObjectAt(pod, "metadata"), "labels"),
                                          kRoleLabel);
  return ViewPod(pod, role == kExecutorRole ? kExecutorContainer : kDriverContainer);
}

// A create the API refuses for good: the object itself is unacceptable
// (invalid, forbidden by admission or RBAC, namespace gone). Everything else
// (conflicts, throttling, server errors, no response) is worth a retry.
bool PermanentCreateError(const kube::ApiError& e) {
  return e.http_code == 400 || e.http_code == 403 || e.http_code == 404 || e.http_code == 422;
}

// Below this many requests a reconcile sends them one after another: the
// workers already run many reconciles at once, and a thread per request
// costs more than it saves. Above it (many executors) they go in parallel.
constexpr size_t kParallelFrom = 4;

// Runs fn(0..n-1), at most `parallel` at a time; returns the first error.
template <typename Fn>
Status ParallelFor(size_t n, int parallel, Fn fn) {
  Status first;
  if (n < kParallelFrom || parallel <= 1) {
    for (size_t i = 0; i < n; ++i) {
      Status st = fn(i);
      if (!st.ok() && first.ok()) first = st;
    }
    return first;
  }
  for (size_t begin = 0; begin < n; begin += static_cast<size_t>(parallel)) {
    const size_t end = std::min(n, begin + static_cast<size_t>(parallel));
    std::vector<std::future<Status>> wave;
    for (size_t i = begin + 1; i < end; ++i) wave.push_back(std::async(std::launch::async, fn, i));
    Status st = fn(begin);  // this thread takes one of its own
    if (!st.ok() && first.ok()) first = st;
    for (auto& f : wave) {
      Status s = f.get();
      if (!s.ok() && first.ok()) first = s;
    }
  }
  return first;
}

double SecondsSince(const json& app, TimePoint now) {
  auto created = kube::ParseTime(kube::StringAt(kube::ObjectAt(app, "metadata"), "creationTimestamp"));
  if (!created) return 0;
  return std::max(0.0, std::chrono::duration<double>(now - *created).count());
}

const char* ResultName(Outcome::Kind kind) {
  switch (kind) {
    case Outcome::Kind::kDone: return "done";
    case Outcome::Kind::kRequeueAfter: return "requeue";
    case Outcome::Kind::kRetry: return "retry";
    case Outcome::Kind::kTerminal: return "terminal";
  }
  return "done";
}

}  // namespace

kube::GroupVersionResource SparkApplications() {
  return {std::string(kGroup), std::string(kVersion), "sparkapplications", true};
}

Reconciler::Reconciler(kube::Client* client, Caches caches, kube::EventQueue* events,
                       OperatorMetrics* metrics, ReconcilerOptions options)
    : client_(client),
      caches_(std::move(caches)),
      events_(events),
      metrics_(metrics),
      options_(std::move(options)) {}

Outcome Reconciler::Reconcile(const std::string& key) {
  const auto started = std::chrono::steady_clock::now();
  kube::ObjectPtr app = caches_.application(key);
  Outcome outcome = Outcome::Done();
  if (!app) {
    std::lock_guard<std::mutex> lock(mu_);
    memory_.erase(key);
  } else {
    outcome = ReconcileObject(key, *app);
  }
  if (outcome.kind() == Outcome::Kind::kRetry) {
    EMBER_LOG(kInfo) << "reconcile " << key << ": " << outcome.error().message() << " (will retry)";
  }
  if (metrics_ != nullptr) {
    metrics_->Reconciled(ResultName(outcome.kind()),
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  return outcome;
}

Observed Reconciler::Observe(const std::string& key, const json& app) {
  Observed o;
  o.now = options_.clock();
  const json& metadata = kube::ObjectAt(app, "metadata");
  o.app = AppRef{kube::StringAt(metadata, "name"), kube::StringAt(metadata, "namespace"),
                 kube::StringAt(metadata, "uid")};
  o.generation = kube::IntAt(metadata, "generation", 0);
  o.deleting = !kube::StringAt(metadata, "deletionTimestamp").empty();
  o.raw_spec = app.is_object() && app.contains("spec") ? app["spec"] : json::object();
  Result<AppSpec> spec = ParseSpec(o.raw_spec);
  if (spec.ok()) {
    o.spec = std::move(*spec);
  } else {
    o.spec_error = spec.status();
  }
  o.status = AppStatus::FromJson(kube::ObjectAt(app, "status"));
  o.default_executor_image = options_.default_executor_image;
  for (const kube::ObjectPtr& pod : caches_.pods(key)) {
    if (OwnedBy(*pod, o.app.uid)) o.pods.push_back(View(*pod));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = memory_.find(key);
  if (it == memory_.end()) return o;
  auto& created = it->second.created;
  for (auto c = created.begin(); c != created.end();) {
    const bool seen = std::any_of(o.pods.begin(), o.pods.end(),
                                  [&](const PodView& p) { return p.name == c->first; });
    if (seen || o.now - c->second.at > options_.assume_created_for) {
      c = created.erase(c);
      continue;
    }
    o.pods.push_back(c->second.view);
    ++c;
  }
  return o;
}

Status Reconciler::LivePods(Observed* o) {
  kube::ListOptions options;
  options.label_selector = std::string(kAppNameLabel) + "=" + o->app.name;
  kube::ApiResult<kube::ListResult> listed = client_->ListAll(kube::resources::Pods(), o->app.ns, options);
  if (!listed.ok()) return listed.status().WithContext("listing the pods of " + o->app.name);
  o->pods.clear();
  for (json& pod : listed->items) {
    if (OwnedBy(pod, o->app.uid)) o->pods.push_back(View(TrimPod(std::move(pod))));
  }
  o->pods_confirmed = true;
  return Status::Ok();
}

void Reconciler::Remember(const std::string& key, const Action& action, TimePoint now) {
  PodView view = View(action.object);
  view.assumed = true;
  view.phase = "Pending";
  view.created.reset();
  std::lock_guard<std::mutex> lock(mu_);
  memory_[key].created[action.name] = Created{std::move(view), now};
}

Status Reconciler::CreateOne(const std::string& key, const Observed& o, const Action& action,
                             std::optional<CreateFailure>* failure) {
  kube::ApiResult<json> created = kube::ApiError{};
  std::string what;
  switch (action.kind) {
    case ActionKind::kCreateSecret: {
      const std::string token = NewToken();
      if (token.empty()) return InternalError("no random bytes for the application secret");
      what = "secret " + action.name;
      created = client_->Create(kube::resources::Secrets(), o.app.ns, BuildSecret(o.app, token));
      break;
    }
    case ActionKind::kCreateService:
      what = "service " + action.name;
      created = client_->Create(kube::resources::Services(), o.app.ns, action.object);
      break;
    case ActionKind::kCreatePod:
      what = "pod " + action.name;
      created = client_->Create(kube::resources::Pods(), o.app.ns, action.object);
      break;
    default:
      return InternalError("not a create");
  }
  if (created.ok() || created.error().IsAlreadyExists()) {
    if (action.kind == ActionKind::kCreatePod) Remember(key, action, o.now);
    return Status::Ok();
  }
  if (PermanentCreateError(created.error())) {
    EMBER_LOG(kWarning) << key << ": the API refused " << what << ": " << created.error().message;
    if (!*failure) {
      *failure = CreateFailure{what, action.executor, created.status(),
                               created.error().reason.empty() ? "CreateFailed" : created.error().reason};
    }
    return Status::Ok();
  }
  return created.status().WithContext("creating " + what);
}

Status Reconciler::DeleteOne(const Observed& o, const Action& action) {
  kube::DeleteOptions options;
  options.propagation_policy = kube::PropagationPolicy::kBackground;
  options.precondition_uid = action.uid;
  if (action.force) options.grace_period_seconds = 0;
  kube::ApiResult<json> deleted = kube::ApiError{};
  switch (action.kind) {
    case ActionKind::kDeletePod:
      deleted = client_->Delete(kube::resources::Pods(), o.app.ns, action.name, options);
      break;
    case ActionKind::kDeleteService:
      deleted = client_->Delete(kube::resources::Services(), o.app.ns, action.name, options);
      break;
    case ActionKind::kDeleteApplication:
      deleted = client_->Delete(SparkApplications(), o.app.ns, action.name, options);
      break;
    default:
      return InternalError("not a delete");
  }
  // Gone already, or the name now belongs to a newer object (the uid
  // precondition failed): either way there is nothing of ours to delete.
  if (deleted.ok() || deleted.error().IsNotFound() || deleted.error().http_code == 409) {
    return Status::Ok();
  }
  return deleted.status().WithContext("deleting " + action.name);
}

Status Reconciler::Execute(const std::string& key, const Observed& o, const std::vector<Action>& actions,
                           std::optional<CreateFailure>* failure) {
  std::vector<const Action*> first, pods, deletes, last;
  for (const Action& a : actions) {
    switch (a.kind) {
      case ActionKind::kCreateSecret:
      case ActionKind::kCreateService: first.push_back(&a); break;
      case ActionKind::kCreatePod: pods.push_back(&a); break;
      case ActionKind::kDeletePod:
      case ActionKind::kDeleteService: deletes.push_back(&a); break;
      case ActionKind::kDeleteApplication: last.push_back(&a); break;
    }
  }
  const int parallel = options_.max_parallel_requests;
  // Creates run concurrently; each reports a refusal in a slot of its own,
  // and the first refusal is kept.
  auto creates = [&](const std::vector<const Action*>& list) {
    std::vector<std::optional<CreateFailure>> refused(list.size());
    Status st = ParallelFor(list.size(), parallel,
                            [&](size_t i) { return CreateOne(key, o, *list[i], &refused[i]); });
    for (auto& f : refused) {
      if (f && !*failure) *failure = std::move(f);
    }
    return st;
  };
  // The Secret before the pods that mount it, so that none waits on it.
  RETURN_IF_ERROR(creates(first));
  if (*failure) return Status::Ok();
  RETURN_IF_ERROR(creates(pods));
  RETURN_IF_ERROR(ParallelFor(deletes.size(), parallel, [&](size_t i) { return DeleteOne(o, *deletes[i]); }));
  for (const Action* a : last) RETURN_IF_ERROR(DeleteOne(o, *a));
  return Status::Ok();
}

Outcome Reconciler::ReconcileObject(const std::string& key, const json& app) {
  const std::string resource_version = kube::ResourceVersionOf(app);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = memory_.find(key);
    if (it != memory_.end() && !it->second.stale_resource_version.empty() &&
        it->second.stale_resource_version == resource_version) {
      return Outcome::RequeueAfter(kCacheCatchUp);
    }
  }
  Observed o = Observe(key, app);
  Plan plan = Decide(o);
  if (plan.need_live_pods) {
    Status st = LivePods(&o);
    if (!st.ok()) return Outcome::Retry(st);
    plan = Decide(o);
  }
  std::optional<CreateFailure> failure;
  Status st = Execute(key, o, plan.actions, &failure);
  if (!st.ok()) return Outcome::Retry(st);
  if (failure) {
    // Decide again knowing what the API refused; the pods created before
    // the refusal are in the memory now, so the new plan removes them.
    const bool confirmed = o.pods_confirmed;
    std::vector<PodView> live = o.pods;
    o = Observe(key, app);
    if (confirmed) {
      for (const PodView& p : live) {
        if (std::none_of(o.pods.begin(), o.pods.end(), [&](const PodView& x) { return x.name == p.name; })) {
          o.pods.push_back(p);
        }
      }
      o.pods_confirmed = true;
    }
    o.create_failure = std::move(failure);
    plan = Decide(o);
    std::optional<CreateFailure> ignored;
    st = Execute(key, o, plan.actions, &ignored);
    if (!st.ok()) return Outcome::Retry(st);
  }
  const bool deleting_app = std::any_of(plan.actions.begin(), plan.actions.end(), [](const Action& a) {
    return a.kind == ActionKind::kDeleteApplication;
  });
  const json desired = plan.status.ToJson();
  const json current = app.is_object() && app.contains("status") ? app["status"] : json();
  if (!deleting_app && desired != current) {
    json object = app;
    object["status"] = desired;
    kube::ApiResult<json> written = client_->UpdateStatus(SparkApplications(), object);
    if (!written.ok()) {
      if (written.error().IsNotFound()) return Outcome::Done();
      return Outcome::Retry(written.status().WithContext("writing the status of " + key));
    }
    std::lock_guard<std::mutex> lock(mu_);
    memory_[key].stale_resource_version = resource_version;
  }
  if (events_ != nullptr) {
    for (const PlannedEvent& e : plan.events) {
      events_->Post(app, e.warning ? kube::EventType::kWarning : kube::EventType::kNormal, e.reason,
                    e.message);
    }
  }
  if (plan.status.state != o.status.state || !plan.events.empty()) {
    EMBER_LOG(kInfo) << key << ": " << StateName(o.status.state) << " -> " << StateName(plan.status.state)
                     << (plan.status.reason.empty() ? "" : " (" + plan.status.reason + ")");
  }
  if (metrics_ != nullptr) {
    if (plan.submits) metrics_->Submitted(SecondsSince(app, o.now));
    if (plan.driver_started) metrics_->Started(SecondsSince(app, o.now));
    for (const std::string& timeout : plan.timeouts) metrics_->TimedOut(timeout);
    if (plan.status.state != o.status.state && IsTerminal(plan.status.state)) {
      metrics_->Finished(std::string(StateName(plan.status.state)));
    }
    for (const PlannedEvent& e : plan.events) {
      if (e.reason == "SparkApplicationSubmissionFailed") metrics_->SubmissionFailed();
    }
  }
  if (plan.requeue_after) return Outcome::RequeueAfter(*plan.requeue_after);
  return Outcome::Done();
}

}  // namespace ember::sparkapp
