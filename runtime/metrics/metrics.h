// Prometheus metrics of a driver or an executor, served at /metrics.
//
// Every family is registered at start-up and every series the process will
// export is created up front (so it reads 0 before the first event); hot
// paths only touch the references held here. Names follow Prometheus
// conventions: ember_ prefix, base units, counters end in _total. The only
// label is `role` (driver|executor), a constant of the process.
//
// Thread-safety: prometheus-cpp metrics are safe to update concurrently.
#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "ember/status.h"

namespace prometheus {
class Exposer;
}

namespace ember {

class Metrics {
 public:
  // Registers all families. When `port` >= 0 also serves them over HTTP on
  // bind_address:port (0 picks a free port); a negative port serves nothing.
  static Result<std::unique_ptr<Metrics>> Start(const std::string& role,
                                                const std::string& bind_address, int port);
  ~Metrics();

  int port() const { return port_; }
  prometheus::Registry& registry() { return *registry_; }

  // Tasks (executor side; the driver counts the same from status reports).
  prometheus::Counter* tasks_started_total = nullptr;
  prometheus::Counter* tasks_succeeded_total = nullptr;
  prometheus::Counter* tasks_failed_total = nullptr;
  prometheus::Gauge* tasks_running = nullptr;
  prometheus::Histogram* task_duration_seconds = nullptr;
  // Data movement.
  prometheus::Counter* shuffle_written_bytes_total = nullptr;
  prometheus::Counter* shuffle_read_bytes_total = nullptr;
  prometheus::Counter* shuffle_fetch_retries_total = nullptr;
  prometheus::Counter* shuffle_fetch_failures_total = nullptr;
  prometheus::Counter* records_read_total = nullptr;
  prometheus::Counter* records_written_total = nullptr;
  // Memory for task data (the budget), and what spilled beyond it.
  prometheus::Gauge* memory_budget_bytes = nullptr;
  prometheus::Gauge* memory_used_bytes = nullptr;
  prometheus::Counter* spilled_bytes_total = nullptr;
  prometheus::Counter* spills_total = nullptr;
  // Driver state.
  prometheus::Gauge* executors_registered = nullptr;
  prometheus::Gauge* active_jobs = nullptr;
  prometheus::Gauge* active_stages = nullptr;
  prometheus::Gauge* broadcast_bytes = nullptr;
  prometheus::Counter* jobs_succeeded_total = nullptr;
  prometheus::Counter* jobs_failed_total = nullptr;
  prometheus::Counter* executors_lost_total = nullptr;
  prometheus::Counter* auth_failures_total = nullptr;

 private:
  Metrics() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = -1;
  std::string wake_host_;
};

}  // namespace ember
