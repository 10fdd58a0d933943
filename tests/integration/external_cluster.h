// The driver and executors as separate processes started by a test
// (external[N] mode, as the Kubernetes operator runs them), and what tests
// read from them: log lines, /metrics pages, marker files, output
// directories.
#pragma once

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine_test_util.h"

namespace ember::testing {

inline constexpr std::chrono::seconds kStartupWait{60};

// The number right after `prefix` in `text`, once it is there.
inline std::optional<int> NumberAfter(const std::string& text, const std::string& prefix) {
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return std::nullopt;
  size_t i = at + prefix.size();
  std::string digits;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) digits += text[i++];
  if (digits.empty() || i == text.size()) return std::nullopt;  // maybe still being written
  return std::stoi(digits);
}

inline size_t CountMarkers(const std::string& dir, const std::string& prefix) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) ++n;
  }
  return n;
}

// One ember-driver in external mode plus the executors a test starts for it.
class ExternalCluster {
 public:
  // Runs `app` (the ops test application unless named).
  ExternalCluster(const std::string& app_id, int executors, const std::vector<std::string>& flags,
                  const std::vector<std::string>& app_args, const std::string& app = EMBER_OPS_APP)
      : app_id_(app_id) {
    WriteFileOrDie(secret_file(), "integration-secret-" + app_id);
    std::vector<std::string> argv = {
        Bin("ember-driver"), "--master", "external[" + std::to_string(executors) + "]",
        "--app-id",          app_id,     "--secret-file",
        secret_file(),       "--port",   "0",
        "--log-level",       "info",     "--local-dir",
        dir_ / "driver"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(app);
    argv.insert(argv.end(), app_args.begin(), app_args.end());
    driver_ = std::make_unique<Process>(std::move(argv));
  }

  std::string secret_file() const { return dir_ / "secret"; }
  Process& driver() { return *driver_; }

  // The driver's RPC port, from its log; nullopt if it never said.
  std::optional<int> WaitForPort() { return WaitForLogNumber("driver listening on 127.0.0.1:"); }

  std::optional<int> WaitForLogNumber(const std::string& prefix) {
    std::optional<int> n;
    WaitUntil(
        [&] {
          return (n = NumberAfter(driver_->Stderr(), prefix)).has_value() || !driver_->running();
        },
        kStartupWait);
    return n;
  }

  std::vector<std::string> ExecutorArgv(int port, const std::string& id,
                                        const std::string& secret_flag) const {
    return {Bin("ember-executor"),
            "--driver",
            "127.0.0.1:" + std::to_string(port),
            "--executor-id",
            id,
            "--app-id",
            app_id_,
            "--cores",
            "1",
            secret_flag.rfind("--secret=", 0) == 0 ? secret_flag : "--secret-file=" + secret_file(),
            "--local-dir",
            dir_ / ("executor-" + id),
            "--log-level",
            "info"};
  }

  Process& StartExecutor(int port, const std::string& id,
                         const std::vector<std::string>& flags = {}) {
    std::vector<std::string> argv = ExecutorArgv(port, id, "");
    argv.insert(argv.end(), flags.begin(), flags.end());
    executors_.push_back(std::make_unique<Process>(std::move(argv)));
    return *executors_.back();
  }

  const TempDir& dir() const { return dir_; }

 private:
  std::string app_id_;
  TempDir dir_{"ember-cluster"};
  std::unique_ptr<Process> driver_;
  std::vector<std::unique_ptr<Process>> executors_;
};

// Part files of an output directory -> their lines; fails the test on any
// other entry than part-NNNNN and _SUCCESS.
inline std::map<std::string, std::vector<std::string>> ReadOutput(const std::string& dir) {
  std::map<std::string, std::vector<std::string>> parts;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name == "_SUCCESS") continue;
    EXPECT_EQ(name.rfind("part-", 0), 0u) << "leftover in the output: " << name;
    EXPECT_TRUE(e.is_regular_file()) << name;
    std::vector<std::string> lines;
    std::istringstream in(ReadFileOrEmpty(e.path().string()));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    parts[name] = std::move(lines);
  }
  return parts;
}

// The value of an unlabelled or singly-labelled gauge in a /metrics page.
inline std::optional<double> MetricValue(const std::string& page, const std::string& name) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

inline std::optional<int> MetricsPort(Process& p) {
  std::optional<int> port;
  WaitUntil(
      [&] {
        const std::string err = p.Stderr();
        const size_t at = err.find("metrics at http://");
        if (at != std::string::npos) {
          const size_t colon = err.find(':', at + std::string("metrics at http://").size());
          if (colon != std::string::npos) port = NumberAfter(err.substr(colon), ":");
        }
        return port.has_value() || !p.running();
      },
      kStartupWait);
  return port;
}

}  // namespace ember::testing
