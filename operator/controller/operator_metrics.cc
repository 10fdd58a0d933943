#include "operator/controller/operator_metrics.h"

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "common/log.h"
#include "operator/controller/app_status.h"

namespace ember::sparkapp {
namespace {

// Latencies of a submission or start: tens of milliseconds (a warm operator)
// to minutes (a backlog, a cold image pull).
const std::vector<double> kLatencyBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                             5,    10,    30,   60,  120,  300, 600};
// One reconcile or API call: a millisecond to the client's timeout.
const std::vector<double> kCallBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10, 30};

const std::vector<std::string> kResults = {"done", "requeue", "retry", "terminal"};
const std::vector<std::string> kVerbs = {"get", "list", "watch", "create", "update", "patch", "delete"};

prometheus::MetricFamily Family(const std::string& name, const std::string& help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

prometheus::ClientMetric Value(prometheus::MetricType type, double value,
                               std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

std::string CodeClass(int code) {
  if (code == 0) return "error";
  return std::to_string(code / 100) + "xx";
}

}  // namespace

// Metrics whose value lives elsewhere (the cache, the queue, the watchers),
// read when Prometheus scrapes.
class OperatorMetrics::ScrapeCollector : public prometheus::Collectable {
 public:
  void Set(Sources sources) {
    std::lock_guard<std::mutex> lock(mu_);
    sources_ = std::move(sources);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<prometheus::MetricFamily> out;
    auto apps = Family("ember_operator_applications", "SparkApplications by state.", MetricType::Gauge);
    std::map<std::string, int64_t> by_state;
    if (sources_.applications_by_state) by_state = sources_.applications_by_state();
    for (int s = 0; s <= static_cast<int>(AppState::kSuspended); ++s) {
      const std::string name(StateName(static_cast<AppState>(s)));
      auto it = by_state.find(name);
      apps.metric.push_back(
          Value(MetricType::Gauge, it == by_state.end() ? 0 : static_cast<double>(it->second),
                {{"state", name}}));
    }
    out.push_back(std::move(apps));
    auto depth = Family("ember_operator_workqueue_depth", "Keys waiting for a worker.", MetricType::Gauge);
    depth.metric.push_back(Value(MetricType::Gauge,
                                 sources_.queue_depth ? static_cast<double>(sources_.queue_depth()) : 0,
                                 {{"controller", kController}}));
    out.push_back(std::move(depth));
    auto restarts = Family("ember_operator_watch_restarts_total",
                           "List or watch attempts that failed and were retried.", MetricType::Counter);
    auto relists = Family("ember_operator_watch_relists_total",
                          "Re-lists forced by 410 Gone (an expired resourceVersion).", MetricType::Counter);
    std::map<std::string, std::pair<uint64_t, uint64_t>> watch;
    if (sources_.watch_stats) watch = sources_.watch_stats();
    for (const char* resource : {"sparkapplications", "pods"}) {
      const auto it = watch.find(resource);
      const auto stats = it == watch.end() ? std::pair<uint64_t, uint64_t>{0, 0} : it->second;
      restarts.metric.push_back(Value(MetricType::Counter, static_cast<double>(stats.first),
                                      {{"resource", resource}}));
      relists.metric.push_back(Value(MetricType::Counter, static_cast<double>(stats.second),
                                     {{"resource", resource}}));
    }
    out.push_back(std::move(restarts));
    out.push_back(std::move(relists));
    auto events = Family("ember_operator_events_total", "Kubernetes Events by outcome.", MetricType::Counter);
    std::vector<uint64_t> stats = sources_.event_stats ? sources_.event_stats() : std::vector<uint64_t>{};
    stats.resize(3, 0);
    const char* results[] = {"sent", "failed", "dropped"};
    for (int i = 0; i < 3; ++i) {
      events.metric.push_back(
          Value(MetricType::Counter, static_cast<double>(stats[static_cast<size_t>(i)]), {{"result", results[i]}}));
    }
    out.push_back(std::move(events));
    return out;
  }

 private:
  mutable std::mutex mu_;
  Sources sources_;
};

OperatorMetrics::OperatorMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      scrape_(std::make_shared<ScrapeCollector>()) {
  prometheus::Registry& r = *registry_;
  const std::map<std::string, std::string> controller = {{"controller", kController}};
  submissions_ = &prometheus::BuildCounter()
                      .Name("ember_operator_submissions_total")
                      .Help("Runs submitted: driver and executor pods created.")
                      .Register(r)
                      .Add({});
  submission_failures_ = &prometheus::BuildCounter()
                              .Name("ember_operator_submission_failures_total")
                              .Help("Runs whose submission failed (refused, or not running in time).")
                              .Register(r)
                              .Add({});
  auto& timeouts = prometheus::BuildCounter()
                      .Name("ember_operator_timeouts_total")
                      .Help("Runs and executors ended by one of the spec's timeouts.")
                      .Register(r);
  for (const char* t : {"submission", "driver_ready", "executor_start", "max_run_duration"}) {
    timeouts_[t] = &timeouts.Add({{"timeout", t}});
  }
  auto& finished = prometheus::BuildCounter()
                      .Name("ember_operator_applications_finished_total")
                      .Help("Applications that reached a final state, by that state.")
                      .Register(r);
  for (const char* state : {"COMPLETED", "FAILED", "SUBMISSION_FAILED"}) {
    finished_[state] = &finished.Add({{"state", state}});
  }
  submission_latency_ = &prometheus::BuildHistogram()
                             .Name("ember_operator_submission_latency_seconds")
                             .Help("From a SparkApplication's creation to its pods being created.")
                             .Register(r)
                             .Add({}, kLatencyBuckets);
  start_latency_ = &prometheus::BuildHistogram()
                        .Name("ember_operator_start_latency_seconds")
                        .Help("From a SparkApplication's creation to its driver running.")
                        .Register(r)
                        .Add({}, kLatencyBuckets);
  auto& reconciles = prometheus::BuildCounter()
                         .Name("ember_operator_reconcile_total")
                         .Help("Reconciles by result.")
                         .Register(r);
  for (const auto& result : kResults) {
    reconciles_[result] = &reconciles.Add({{"controller", kController}, {"result", result}});
  }
  reconcile_errors_ = &prometheus::BuildCounter()
                           .Name("ember_operator_reconcile_errors_total")
                           .Help("Reconciles that failed (retried with backoff, or given up).")
                           .Register(r)
                           .Add(controller);
  reconcile_duration_ = &prometheus::BuildHistogram()
                             .Name("ember_operator_reconcile_duration_seconds")
                             .Help("Time of one reconcile, API calls included.")
                             .Register(r)
                             .Add(controller, kCallBuckets);
  queue_adds_ = &prometheus::BuildCounter()
                     .Name("ember_operator_workqueue_adds_total")
                     .Help("Keys made ready in the work queue.")
                     .Register(r)
                     .Add(controller);
  queue_retries_ = &prometheus::BuildCounter()
                        .Name("ember_operator_workqueue_retries_total")
                        .Help("Keys requeued with backoff after a failed reconcile.")
                        .Register(r)
                        .Add(controller);
  queue_latency_ = &prometheus::BuildHistogram()
                        .Name("ember_operator_workqueue_latency_seconds")
                        .Help("How long a ready key waited for a worker.")
                        .Register(r)
                        .Add(controller, kCallBuckets);
  leader_ = &prometheus::BuildGauge()
                 .Name("ember_operator_is_leader")
                 .Help("1 while this replica holds the leader lease and reconciles.")
                 .Register(r)
                 .Add({});
  request_duration_ = &prometheus::BuildHistogram()
                           .Name("ember_operator_api_request_duration_seconds")
                           .Help("Kubernetes API requests by verb (each attempt).")
                           .Register(r);
  requests_ = &prometheus::BuildCounter()
                   .Name("ember_operator_api_requests_total")
                   .Help("Kubernetes API requests by verb and status class.")
                   .Register(r);
  request_errors_ = &prometheus::BuildCounter()
                         .Name("ember_operator_api_request_errors_total")
                         .Help("Kubernetes API requests without a response or with an error status "
                               "other than 404 and 409.")
                         .Register(r);
  for (const auto& verb : kVerbs) {
    request_duration_by_verb_[verb] = &request_duration_->Add({{"verb", verb}}, kCallBuckets);
    request_errors_by_verb_[verb] = &request_errors_->Add({{"verb", verb}});
    RequestCounter(verb, "2xx");
  }
}

OperatorMetrics::~OperatorMetrics() = default;

void OperatorMetrics::SetSources(Sources sources) {
  scrape_->Set(std::move(sources));
}

std::string OperatorMetrics::Scrape() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& f : scrape_->Collect()) families.push_back(std::move(f));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

prometheus::Counter& OperatorMetrics::RequestCounter(std::string_view verb, const std::string& code) {
  auto key = std::make_pair(std::string(verb), code);
  auto it = requests_by_code_.find(key);
  if (it != requests_by_code_.end()) return *it->second;
  prometheus::Counter* c = &requests_->Add({{"verb", key.first}, {"code", code}});
  requests_by_code_[key] = c;
  return *c;
}

void OperatorMetrics::OnRequest(std::string_view verb, int http_code, double seconds) {
  const std::string v = verb.empty() ? "get" : std::string(verb);
  std::lock_guard<std::mutex> lock(request_mu_);
  auto d = request_duration_by_verb_.find(v);
  if (d == request_duration_by_verb_.end()) return;  // a verb outside the bounded set
  d->second->Observe(seconds);
  RequestCounter(v, CodeClass(http_code)).Increment();
  if (http_code == 0 || (http_code >= 400 && http_code != 404 && http_code != 409)) {
    request_errors_by_verb_[v]->Increment();
  }
}

void OperatorMetrics::Reconciled(const std::string& result, double seconds) {
  reconcile_duration_->Observe(seconds);
  auto it = reconciles_.find(result);
  if (it != reconciles_.end()) it->second->Increment();
  if (result == "retry" || result == "terminal") reconcile_errors_->Increment();
}

void OperatorMetrics::Submitted(double latency_seconds) {
  submissions_->Increment();
  submission_latency_->Observe(latency_seconds);
}

void OperatorMetrics::SubmissionFailed() { submission_failures_->Increment(); }
void OperatorMetrics::Finished(const std::string& state) {
  if (auto it = finished_.find(state); it != finished_.end()) it->second->Increment();
}
void OperatorMetrics::TimedOut(const std::string& timeout) {
  if (auto it = timeouts_.find(timeout); it != timeouts_.end()) it->second->Increment();
}
void OperatorMetrics::Started(double latency_seconds) { start_latency_->Observe(latency_seconds); }
void OperatorMetrics::QueueAdded() { queue_adds_->Increment(); }
void OperatorMetrics::QueueRetried() { queue_retries_->Increment(); }
void OperatorMetrics::QueueWaited(double seconds) { queue_latency_->Observe(seconds); }
void OperatorMetrics::SetLeader(bool leader) { leader_->Set(leader ? 1 : 0); }

}  // namespace ember::sparkapp
