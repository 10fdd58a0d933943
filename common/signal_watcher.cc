#include "common/signal_watcher.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/log.h"

namespace ember {
namespace {

sigset_t TerminationSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void SignalWatcher::BlockTerminationSignals() {
  const sigset_t set = TerminationSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void SignalWatcher::UnblockAfterFork() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

SignalWatcher::SignalWatcher(std::function<void(int, int)> on_signal)
    : on_signal_(std::move(on_signal)) {
  thread_ = std::thread([this] { Loop(); });
}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  thread_.join();
}

void SignalWatcher::Loop() {
  const sigset_t set = TerminationSet();
  // sigtimedwait rather than sigwait, so that the destructor is noticed.
  const timespec tick{0, 100'000'000};
  int count = 0;
  while (!done_) {
    const int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig > 0) on_signal_(sig, ++count);
  }
}

void WriteTerminationMessage(const std::string& path, const std::string& message) {
  if (path.empty()) return;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    EMBER_LOG(kDebug) << "termination message not written to " << path << ": " << std::strerror(errno);
    return;
  }
  const std::string line = message + "\n";
  const ssize_t n = ::write(fd, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    EMBER_LOG(kDebug) << "termination message to " << path << " was cut short";
  }
  ::close(fd);
}

}  // namespace ember
