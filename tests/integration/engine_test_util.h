// Shared pieces of the engine's integration tests: where the binaries and
// test applications are, how to run ember-submit, and how to read what the
// ops_app scenarios print.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "process_runner.h"

namespace ember::testing {

inline std::string Bin(const std::string& name) {
  return std::string(EMBER_BIN_DIR) + "/" + name;
}

// ember-submit --master MASTER [flags...] APP [app args...], with progress
// output off so that stderr holds only messages.
inline ProcessResult Submit(const std::string& master, const std::string& app,
                            const std::vector<std::string>& app_args,
                            const std::vector<std::string>& flags = {}) {
  std::vector<std::string> argv = {Bin("ember-submit"), "--master", master, "--no-progress"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(app);
  argv.insert(argv.end(), app_args.begin(), app_args.end());
  return RunProcess(std::move(argv));
}

inline std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

inline std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    fields.push_back(
        line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

// What an ops_app scenario printed: its R records (fields after "R") in
// output order, and its N scalars (a name may repeat).
struct AppOutput {
  std::vector<std::vector<std::string>> records;
  std::multimap<std::string, std::string> scalars;

  std::string Scalar(const std::string& name) const {
    auto it = scalars.find(name);
    return it == scalars.end() ? "<missing " + name + ">" : it->second;
  }
  // Records with exactly one field, e.g. lines.
  std::vector<std::string> Singles() const {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.size() == 1 ? r[0] : "<bad record>");
    return out;
  }
};

inline AppOutput ParseAppOutput(const std::string& out) {
  AppOutput parsed;
  for (const std::string& line : SplitLines(out)) {
    auto fields = SplitTabs(line);
    if (fields[0] == "R") {
      parsed.records.emplace_back(fields.begin() + 1, fields.end());
    } else if (fields[0] == "N" && fields.size() == 3) {
      parsed.scalars.emplace(fields[1], fields[2]);
    }
  }
  return parsed;
}

template <typename T>
std::vector<T> Sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The lines of stderr that report a failure ("PROGRAM: error: ..."), as
// opposed to log lines that merely mention one ("std::runtime_error: ...").
inline std::vector<std::string> ErrorLines(const std::string& err) {
  std::vector<std::string> out;
  for (const std::string& line : SplitLines(err)) {
    if (line.find(": error: ") != std::string::npos) out.push_back(line);
  }
  return out;
}

// A scratch directory removed at the end of the scope.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ember-it") : path_(MakeTempDir(prefix)) {}
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace ember::testing
