// The driver: loads the application, runs its entry point (the driver
// program), and runs the jobs it submits on executors.
//
// Where executors come from depends on the master: an in-process executor
// (local[N]), child processes it starts (local-cluster[E,C]), or executors
// started elsewhere that connect to its port (external[E], as on
// Kubernetes). Remote executors talk to the driver over one gRPC stream
// each; see docs/protocol.md.
//
// Thread-safety: RunDriver runs one application per call; the Driver class
// behind it is internal.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/log.h"
#include "runtime/driver/master.h"

namespace ember {

struct DriverOptions {
  Master master;
  std::string app_path;
  // EMBER_ENTRY_POINT to run; empty runs EMBER_APPLICATION.
  std::string entry_point;
  std::vector<std::string> app_args;
  std::string app_name;
  std::string app_id;
  std::map<std::string, std::string> conf;
  std::string bind_address = "127.0.0.1";
  int port = 0;           // 0: any free port
  int metrics_port = -1;  // < 0: no metrics endpoint
  int ui_port = 4040;     // < 0: no web UI; taken: the next free of the 16 after it
  std::string ui_bind_address = "127.0.0.1";
  std::string secret;
  std::string local_dir;        // shuffle files of the in-process executor
  std::string executor_binary;  // local-cluster: the ember-executor to start
  uint64_t driver_memory = 1ull << 30;
  uint64_t executor_memory = 1ull << 30;
  bool progress = false;  // live stage progress on stderr
  LogLevel executor_log_level = LogLevel::kWarning;
  // Prefix of the one-line error on failure ("ember-submit").
  std::string program = "ember-driver";
  // Where the final error line also goes, for the kubelet (empty: nowhere).
  std::string termination_log;
};

// Runs the application to completion. Returns the process exit status: 0 on
// success, the entry point's non-zero return value, or 1 after printing one
// line "PROGRAM: error: ..." to stderr (and to termination_log).
//
// SIGTERM or SIGINT (a deleted pod, Ctrl-C) stops the application cleanly:
// the running job and every later one fail with a message naming the
// signal, and the driver exits 1. A second signal exits at once.
int RunDriver(const DriverOptions& options);

}  // namespace ember
