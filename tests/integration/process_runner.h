// Runs the engine's binaries as real child processes for integration tests.
//
// A Process is started with posix_spawn; its stdout and stderr go to files
// in a scratch directory, so a test can read what a still-running process
// has printed so far (the driver's "listening on" line, an executor's log)
// without pipes that could fill up and stall it. Every wait is bounded: a
// process that outlives its timeout is killed with SIGKILL and reported as
// timed out, so a hung engine fails a test instead of hanging the suite.
//
// The child's environment is the test's minus every EMBER_* variable (the
// CLIs read flags from them, which would make results depend on the
// caller's shell), plus what the test passes explicitly.
//
// Thread-safety: a Process is used from one test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ember::testing {

// Generous: a slow CI machine with two shared cores must never hit it on a
// healthy run, yet a deadlock still ends the test.
inline constexpr std::chrono::seconds kDefaultProcessTimeout{300};

struct ProcessResult {
  int exit_code = -1;   // when the process exited normally, else -1
  int term_signal = 0;  // the signal that ended it, else 0
  bool timed_out = false;
  std::string out;
  std::string err;

  bool Exited(int code) const { return exit_code == code && term_signal == 0 && !timed_out; }
  // Everything a failed assertion should show.
  std::string Describe() const;
};

class Process {
 public:
  // Starts argv[0] (a path) with argv; `extra_env` holds "KEY=VALUE" entries.
  // On failure to start, running() is false and the result's err says why.
  Process(std::vector<std::string> argv, std::vector<std::string> extra_env = {});
  ~Process();  // kills a process that is still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Output so far.
  std::string Stdout() const;
  std::string Stderr() const;
  // Waits for exit, killing the process after `timeout`.
  ProcessResult Wait(std::chrono::seconds timeout = kDefaultProcessTimeout);
  // Sends `sig` (e.g. SIGKILL) if the process is still running.
  void Signal(int sig);

 private:
  bool Reap(bool block);

  pid_t pid_ = -1;
  std::string dir_;
  std::string start_error_;
  bool reaped_ = false;
  int wait_status_ = 0;
};

// Starts a process, waits for it and returns what it did.
ProcessResult RunProcess(std::vector<std::string> argv, std::vector<std::string> extra_env = {},
                         std::chrono::seconds timeout = kDefaultProcessTimeout);

// Polls `predicate` until it holds or `timeout` passes; returns its last
// value. For waiting on a log line or a marker file, never for asserting
// how long something took.
template <typename Predicate>
bool WaitUntil(Predicate predicate, std::chrono::seconds timeout = kDefaultProcessTimeout) {
  constexpr std::chrono::milliseconds kPoll{20};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return predicate();
    std::this_thread::sleep_for(kPoll);
  }
  return true;
}

std::string ReadFileOrEmpty(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& contents);
// A fresh, empty directory under $TMPDIR (or /tmp), removed by the caller.
std::string MakeTempDir(const std::string& prefix);
// A TCP port on 127.0.0.1 that was free a moment ago, from below the
// kernel's ephemeral range (see hack/free-port.sh).
int PickFreePort();

// A memory figure of a live process from /proc/PID/status, in bytes:
// "VmRSS" (resident now) or "VmHWM" (peak resident); nullopt once the
// process is gone.
std::optional<int64_t> ProcessMemoryBytes(pid_t pid, std::string_view field);

// One HTTP exchange on 127.0.0.1:port: sends `request` as it is (so a test
// can send malformed ones) and reads until the server closes or, with a
// Content-Length, until the body is complete. Status 0 when nothing that
// looks like an HTTP answer came back.
struct HttpAnswer {
  int status = 0;
  std::string headers;
  std::string body;
};
HttpAnswer HttpExchange(int port, const std::string& request);
// GET path with Connection: close.
HttpAnswer HttpGet(int port, const std::string& path);

}  // namespace ember::testing
