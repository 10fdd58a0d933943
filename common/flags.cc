#include "common/flags.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <sstream>

namespace ember::cli {

FlagParser::FlagParser(std::string program, std::string synopsis, std::vector<FlagSpec> specs)
    : program_(std::move(program)), synopsis_(std::move(synopsis)), specs_(std::move(specs)) {}

const FlagSpec* FlagParser::Find(const std::string& name) const {
  for (const FlagSpec& s : specs_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string FlagParser::EnvName(const std::string& flag) {
  std::string env = "EMBER_";
  for (char c : flag) env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return env;
}

Status FlagParser::Parse(int argc, const char* const* argv) {
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;
    std::string name;
    std::optional<std::string> value;
    if (arg == "-h") {
      name = "help";
    } else if (arg.rfind("--", 0) == 0) {
      name = arg.substr(2);
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
    } else {
      return InvalidArgumentError("unknown option '" + arg + "' (see --help)");
    }
    const FlagSpec* spec = Find(name);
    if (spec == nullptr) return InvalidArgumentError("unknown option '--" + name + "' (see --help)");
    if (spec->value_name.empty()) {
      if (value) return InvalidArgumentError("option --" + name + " takes no value");
      values_[name].push_back("true");
      continue;
    }
    if (!value) {
      if (i + 1 >= argc) return InvalidArgumentError("option --" + name + " needs a value");
      value = argv[++i];
    }
    values_[name].push_back(*value);
  }
  for (; i < argc; ++i) positional_.emplace_back(argv[i]);
  return Status::Ok();
}

std::optional<std::string> FlagParser::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end() && !it->second.empty()) return it->second.back();
  if (const char* env = std::getenv(EnvName(name).c_str()); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  return std::nullopt;
}

std::string FlagParser::GetOr(const std::string& name, const std::string& fallback) const {
  auto v = Get(name);
  return v ? *v : fallback;
}

std::vector<std::string> FlagParser::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  if (auto v = Get(name)) return {*v};
  return {};
}

bool FlagParser::IsSet(const std::string& name) const { return Get(name).has_value(); }

std::string FlagParser::Usage() const {
  std::ostringstream out;
  out << "usage: " << program_ << " " << synopsis_ << "\n\noptions:\n";
  for (const FlagSpec& s : specs_) {
    std::string left = "  --" + s.name + (s.value_name.empty() ? "" : " " + s.value_name);
    out << left;
    out << std::string(left.size() < 30 ? 30 - left.size() : 1, ' ') << s.help;
    if (s.name != "help" && s.name != "version") out << " [" << EnvName(s.name) << "]";
    out << "\n";
  }
  return out.str();
}

Result<int64_t> ParseIntFlag(const std::string& flag, const std::string& value, int64_t min,
                             int64_t max) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || ptr != value.data() + value.size() || v < min || v > max) {
    return InvalidArgumentError("invalid --" + flag + " '" + value + "': expected an integer from " +
                                std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

Result<bool> ParseBoolFlag(const std::string& flag, const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return InvalidArgumentError("invalid --" + flag + " '" + value + "': expected true or false");
}

}  // namespace ember::cli
