// What the test applications share: their scenario's arguments, marker
// files naming the process that ran a phase, and a wait for the test's
// go-ahead.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace test_apps {

// Argument `i` of the scenario args[0], or an error naming the scenario.
inline const std::string& ArgAt(const std::vector<std::string>& args, size_t i) {
  if (i >= args.size()) {
    throw std::invalid_argument("scenario " + args.at(0) + ": missing argument");
  }
  return args[i];
}

// Leaves an empty file named KIND-PID-N in `dir`, so that the test can see
// which process is running which phase (and how often a phase ran).
inline void Mark(const std::string& dir, const char* kind) {
  static std::atomic<uint64_t> seq{0};
  static const uint64_t salt = std::random_device{}();
  const std::string path = dir + "/" + kind + "-" + std::to_string(::getpid()) + "-" +
                           std::to_string(salt) + "-" + std::to_string(seq++);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create marker " + path);
  ::close(fd);
}

// Waits up to a minute for `file` to exist: the test's go-ahead.
inline void WaitForFile(const std::string& file) {
  for (int i = 0; i < 60000 && ::access(file.c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace test_apps
