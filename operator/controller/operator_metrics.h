// The operator's Prometheus metrics, all named ember_operator_*.
//
// Every family is registered up front and every series that is known to
// exist is created at start (reading 0), so dashboards and alerts never see
// a missing series. Labels are bounded: a controller name, a state, a result,
// an API verb and an HTTP code class; never an application or pod name.
//
//   ember_operator_applications{state}                  gauge, from the cache at scrape time
//   ember_operator_submissions_total                    runs submitted
//   ember_operator_submission_failures_total            runs whose submission failed
//   ember_operator_submission_latency_seconds           creation -> pods created (histogram)
//   ember_operator_start_latency_seconds                creation -> driver running (histogram)
//   ember_operator_reconcile_total{controller,result}   result: done|requeue|retry|terminal
//   ember_operator_reconcile_errors_total{controller}
//   ember_operator_reconcile_duration_seconds{controller}
//   ember_operator_workqueue_depth{controller}          gauge, at scrape time
//   ember_operator_workqueue_adds_total{controller}
//   ember_operator_workqueue_retries_total{controller}
//   ember_operator_workqueue_latency_seconds{controller}  ready -> taken by a worker
//   ember_operator_api_request_duration_seconds{verb}
//   ember_operator_api_requests_total{verb,code}        code: 2xx|3xx|4xx|5xx|error
//   ember_operator_api_request_errors_total{verb}       no response, or >= 400 but 404/409
//   ember_operator_watch_restarts_total{resource}       failed list or watch attempts
//   ember_operator_watch_relists_total{resource}        re-lists after 410 Gone
//   ember_operator_events_total{result}                 sent|failed|dropped
//   ember_operator_is_leader                            1 on the replica that writes
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "operator/kube/client/client.h"

namespace ember::sparkapp {

class OperatorMetrics : public kube::RequestObserver {
 public:
  // Values read at scrape time.
  struct Sources {
    // Applications by state name ("" for NEW), from the cache.
    std::function<std::map<std::string, int64_t>()> applications_by_state;
    std::function<int64_t()> queue_depth;
    // Per watched resource ("sparkapplications", "pods"): restarts, relists.
    std::function<std::map<std::string, std::pair<uint64_t, uint64_t>>()> watch_stats;
    // Events sent, failed, dropped.
    std::function<std::vector<uint64_t>()> event_stats;
  };

  OperatorMetrics();
  ~OperatorMetrics() override;

  // Installs the scrape-time sources; call before the first scrape.
  void SetSources(Sources sources);
  // Every family in Prometheus' text format, as /metrics serves it.
  std::string Scrape() const;

  prometheus::Registry& registry() { return *registry_; }

  void OnRequest(std::string_view verb, int http_code, double seconds) override;

  void Reconciled(const std::string& result, double seconds);
  void Submitted(double latency_seconds);
  void SubmissionFailed();
  // One of the spec's timeouts ended a run or an executor: "submission",
  // "driver_ready", "executor_start" or "max_run_duration".
  void TimedOut(const std::string& timeout);
  // An application reached a final state: COMPLETED, FAILED or
  // SUBMISSION_FAILED.
  void Finished(const std::string& state);
  void Started(double latency_seconds);
  void QueueAdded();
  void QueueRetried();
  void QueueWaited(double seconds);
  void SetLeader(bool leader);

  static constexpr const char* kController = "sparkapplication";

 private:
  class ScrapeCollector;

  prometheus::Counter& RequestCounter(std::string_view verb, const std::string& code);

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ScrapeCollector> scrape_;

  prometheus::Counter* submissions_ = nullptr;
  prometheus::Counter* submission_failures_ = nullptr;
  std::map<std::string, prometheus::Counter*> timeouts_;  // by timeout; fixed after construction
  std::map<std::string, prometheus::Counter*> finished_;  // by state; fixed after construction
  prometheus::Histogram* submission_latency_ = nullptr;
  prometheus::Histogram* start_latency_ = nullptr;
  std::map<std::string, prometheus::Counter*> reconciles_;  // by result; fixed after construction
  prometheus::Counter* reconcile_errors_ = nullptr;
  prometheus::Histogram* reconcile_duration_ = nullptr;
  prometheus::Counter* queue_adds_ = nullptr;
  prometheus::Counter* queue_retries_ = nullptr;
  prometheus::Histogram* queue_latency_ = nullptr;
  prometheus::Gauge* leader_ = nullptr;

  prometheus::Family<prometheus::Histogram>* request_duration_ = nullptr;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Counter>* request_errors_ = nullptr;
  std::mutex request_mu_;
  std::map<std::string, prometheus::Histogram*> request_duration_by_verb_;
  std::map<std::pair<std::string, std::string>, prometheus::Counter*> requests_by_code_;
  std::map<std::string, prometheus::Counter*> request_errors_by_verb_;
};

}  // namespace ember::sparkapp
