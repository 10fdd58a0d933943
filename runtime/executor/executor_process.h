// The ember-executor process: registers with the driver over one gRPC
// stream, downloads and loads the application library, runs the tasks it
// is sent, and serves its shuffle output to other executors.
//
// Life cycle: connect and register -> Registered (with the library's
// checksum) -> download + verify + load the library -> run tasks; tasks
// that arrive before the library is loaded wait. The process ends when the
// driver sends Shutdown (exit 0) or the stream breaks (exit 1).
//
// Pods start in any order, so a driver that cannot be reached yet
// (UNAVAILABLE: connection refused, a name that does not resolve yet) is
// retried with jittered exponential backoff until registration_timeout;
// a refusal (a wrong secret or application id) fails at once.
//
// SIGTERM (what Kubernetes sends before deleting a pod) is a graceful stop:
// the executor tells the driver it is stopping, hands back queued tasks,
// gives running ones decommission_timeout to finish, hands back the rest,
// ends the stream and exits 0.
//
// Thread-safety: RunExecutorProcess runs one executor per call.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ember {

struct ExecutorProcessOptions {
  std::string driver_address;  // host:port
  std::string executor_id;
  uint32_t cores = 1;
  uint64_t memory = 1ull << 30;
  // For task data before operators spill; 0: DefaultMemoryBudget(memory).
  uint64_t memory_budget = 0;
  std::string app_id;
  std::string bind_address = "127.0.0.1";
  std::string advertise_host;  // what other executors dial; default bind_address
  int shuffle_port = 0;
  int advertise_shuffle_port = 0;  // what other executors dial; 0: the bound port
  int metrics_port = -1;
  std::string secret;
  std::string local_dir;
  std::chrono::milliseconds registration_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds decommission_timeout{std::chrono::seconds(20)};
  // Where the final error line goes for the kubelet (empty: nowhere).
  std::string termination_log;
};

// Returns the process exit status; on failure prints one line
// "ember-executor: error: ..." to stderr.
int RunExecutorProcess(const ExecutorProcessOptions& options);

}  // namespace ember
