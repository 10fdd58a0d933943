#include "runtime/metrics/metrics.h"

#include <exception>
#include <memory>
#include <vector>

#include <prometheus/exposer.h>

#include "common/listener_wake.h"
#include "common/log.h"

namespace ember {
namespace {

// Task durations range from a millisecond (a tiny partition) to minutes (a
// skewed one); roughly x2.5 steps keep the error bounded across that range.
const std::vector<double> kTaskDurationBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

prometheus::Counter* AddCounter(prometheus::Registry& registry, const std::string& role,
                                const std::string& name, const std::string& help) {
  return &prometheus::BuildCounter()
              .Name(name)
              .Help(help)
              .Labels({{"role", role}})
              .Register(registry)
              .Add({});
}

prometheus::Gauge* AddGauge(prometheus::Registry& registry, const std::string& role,
                            const std::string& name, const std::string& help) {
  return &prometheus::BuildGauge()
              .Name(name)
              .Help(help)
              .Labels({{"role", role}})
              .Register(registry)
              .Add({});
}

}  // namespace

Result<std::unique_ptr<Metrics>> Metrics::Start(const std::string& role,
                                                const std::string& bind_address, int port) {
  if (role != "driver" && role != "executor") {
    return InvalidArgumentError("metrics role must be driver or executor, not '" + role + "'");
  }
  std::unique_ptr<Metrics> m(new Metrics());  // private constructor: make_unique cannot reach it
  m->registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Registry& r = *m->registry_;

  m->tasks_started_total = AddCounter(r, role, "ember_tasks_started_total", "Tasks started.");
  m->tasks_succeeded_total =
      AddCounter(r, role, "ember_tasks_succeeded_total", "Tasks that finished successfully.");
  m->tasks_failed_total = AddCounter(r, role, "ember_tasks_failed_total",
                                     "Tasks that failed (including fetch failures and kills).");
  m->tasks_running =
      AddGauge(r, role, "ember_tasks_running", "Tasks running now on this process's cores.");
  m->task_duration_seconds = &prometheus::BuildHistogram()
                                  .Name("ember_task_duration_seconds")
                                  .Help("Wall-clock duration of finished tasks.")
                                  .Labels({{"role", role}})
                                  .Register(r)
                                  .Add({}, kTaskDurationBuckets);
  m->shuffle_written_bytes_total = AddCounter(r, role, "ember_shuffle_written_bytes_total",
                                              "Shuffle bytes written by map tasks.");
  m->shuffle_read_bytes_total = AddCounter(r, role, "ember_shuffle_read_bytes_total",
                                           "Shuffle bytes fetched by reduce tasks.");
  m->shuffle_fetch_retries_total =
      AddCounter(r, role, "ember_shuffle_fetch_retries_total",
                 "Shuffle fetches retried after a network failure or a stall.");
  m->shuffle_fetch_failures_total =
      AddCounter(r, role, "ember_shuffle_fetch_failures_total",
                 "Map outputs a reduce task could not read (reported as FETCH_FAILED).");
  m->records_read_total = AddCounter(r, role, "ember_records_read_total", "Records read by tasks.");
  m->records_written_total =
      AddCounter(r, role, "ember_records_written_total", "Records written by tasks.");
  m->memory_budget_bytes =
      AddGauge(r, role, "ember_memory_budget_bytes",
               "Memory the tasks of this process may fill with records before they spill.");
  m->memory_used_bytes = AddGauge(r, role, "ember_memory_used_bytes",
                                  "Memory the running tasks hold for records now.");
  m->spilled_bytes_total = AddCounter(r, role, "ember_spilled_bytes_total",
                                      "Bytes tasks wrote to spill files beyond the memory budget.");
  m->spills_total = AddCounter(r, role, "ember_spills_total", "Spill files tasks wrote.");
  m->executors_registered =
      AddGauge(r, role, "ember_executors_registered", "Executors currently registered.");
  m->active_jobs = AddGauge(r, role, "ember_active_jobs", "Jobs currently running.");
  m->active_stages = AddGauge(r, role, "ember_active_stages", "Stages currently running.");
  m->broadcast_bytes = AddGauge(r, role, "ember_broadcast_bytes",
                                "Encoded broadcast values the driver holds for executors.");
  m->jobs_succeeded_total =
      AddCounter(r, role, "ember_jobs_succeeded_total", "Jobs that finished successfully.");
  m->jobs_failed_total = AddCounter(r, role, "ember_jobs_failed_total", "Jobs that failed.");
  m->executors_lost_total =
      AddCounter(r, role, "ember_executors_lost_total", "Executors lost while registered.");
  m->auth_failures_total = AddCounter(r, role, "ember_auth_failures_total",
                                      "Calls refused for a missing or wrong application secret.");

  if (port < 0) return m;
  const std::string address =
      (bind_address.find(':') != std::string::npos ? "[" + bind_address + "]" : bind_address) +
      ":" + std::to_string(port);
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    // civetweb reports a failed bind by throwing; this is an expected
    // failure (port in use), so it becomes a Status.
    return UnavailableError("serving metrics on " + address + ": " + e.what());
  }
  m->exposer_->RegisterCollectable(m->registry_);
  const std::vector<int> ports = m->exposer_->GetListeningPorts();
  if (ports.empty())
    return UnavailableError("serving metrics on " + address + ": no listening port");
  m->port_ = ports.front();
  // Where the stop's wake-up connections go: the bound address, or loopback
  // for a wildcard.
  m->wake_host_ = WakeHost(bind_address);
  EMBER_LOG(kInfo) << "metrics at http://" << bind_address << ":" << m->port_ << "/metrics";
  return m;
}

Metrics::~Metrics() {
  if (exposer_ == nullptr) return;
  StopWhileWaking(wake_host_, port_, [this] { exposer_.reset(); });
}

}  // namespace ember
