// SIGTERM and SIGINT as a callback, for a graceful stop.
//
// Kubernetes stops a container with SIGTERM and waits its grace period
// before SIGKILL; a process that wants to use that time blocks the signals
// in every thread (BlockTerminationSignals, before any thread starts, so all
// of them inherit the mask) and takes them here, on a thread of its own, as
// an ordinary callback that may lock, log and notify.
//
// Thread-safety: one watcher per process. The callback runs on the
// watcher's thread, once per signal received, with the count so far.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace ember {

class SignalWatcher {
 public:
  // Blocks SIGTERM and SIGINT in the calling thread.
  static void BlockTerminationSignals();
  // Restores the default mask; async-signal-safe, for a child between fork
  // and exec (a blocked mask survives exec).
  static void UnblockAfterFork();

  explicit SignalWatcher(std::function<void(int signal, int count)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void Loop();
  std::function<void(int, int)> on_signal_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Writes `message` to `path` (a container's terminationMessagePath, which
// the kubelet reports in the pod's status). Best effort: a failure is only
// logged, since the message is also on stderr.
void WriteTerminationMessage(const std::string& path, const std::string& message);

}  // namespace ember
