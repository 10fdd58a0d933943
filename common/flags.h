// Command-line flags in the spark-submit style, with environment fallbacks.
//
// Accepts "--name value" and "--name=value". Flags come first; the first
// argument that is not a flag starts the positional arguments, and
// everything after it is passed through untouched (the application's own
// arguments). A flag not given on the command line falls back to the
// environment variable EMBER_<NAME>, with dashes as underscores: --app-id
// reads EMBER_APP_ID. That is how Kubernetes pods configure the binaries.
//
// Thread-safety: none needed; used once at start-up.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ember/status.h"

namespace ember::cli {

struct FlagSpec {
  std::string name;        // without dashes
  std::string value_name;  // empty for a switch without value
  std::string help;
  bool repeatable = false;
};

class FlagParser {
 public:
  FlagParser(std::string program, std::string synopsis, std::vector<FlagSpec> specs);

  // INVALID_ARGUMENT on an unknown flag or a missing value.
  Status Parse(int argc, const char* const* argv);

  // The flag's last value, else its environment variable, else nothing.
  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  // Every value of a repeatable flag, in order.
  std::vector<std::string> GetAll(const std::string& name) const;
  bool IsSet(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  std::string Usage() const;

  static std::string EnvName(const std::string& flag);

 private:
  const FlagSpec* Find(const std::string& name) const;
  std::string program_;
  std::string synopsis_;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// Parses an integer flag value within [min, max]; the error names the flag.
Result<int64_t> ParseIntFlag(const std::string& flag, const std::string& value, int64_t min,
                             int64_t max);
// Parses "true" or "false" (as Kubernetes components spell --leader-elect).
Result<bool> ParseBoolFlag(const std::string& flag, const std::string& value);

}  // namespace ember::cli
