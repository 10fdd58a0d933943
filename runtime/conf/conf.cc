#include "runtime/conf/conf.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace ember::conf {
namespace {

constexpr int64_t kSeconds = 1000;
constexpr int64_t kMiB = int64_t{1} << 20;

// Unit suffixes and their scale; the number before them may have a fraction.
struct Unit {
  std::string_view suffix;
  double scale;
};

constexpr Unit kDurationUnits[] = {{"us", 0.001},    {"ms", 1},       {"s", 1000},
                                   {"m", 60'000},    {"min", 60'000}, {"h", 3'600'000},
                                   {"d", 86'400'000}};
constexpr Unit kByteUnits[] = {{"b", 1},
                               {"k", 1024.0},
                               {"kb", 1024.0},
                               {"m", 1024.0 * 1024},
                               {"mb", 1024.0 * 1024},
                               {"g", 1024.0 * 1024 * 1024},
                               {"gb", 1024.0 * 1024 * 1024},
                               {"t", 1024.0 * 1024 * 1024 * 1024},
                               {"tb", 1024.0 * 1024 * 1024 * 1024}};

// Built with append: GCC 12 warns falsely (-Wrestrict) on "'" + string.
std::string Quoted(std::string_view text, std::string_view rest) {
  std::string out;
  out.reserve(text.size() + rest.size() + 2);
  out.push_back('\'');
  out.append(text);
  out.push_back('\'');
  out.append(rest);
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

template <size_t N>
Result<int64_t> ParseScaled(std::string_view text, int64_t bare_scale, const Unit (&units)[N],
                            std::string_view expected) {
  const std::string t = Lower(text);
  double number = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), number);
  auto bad = [&] { return InvalidArgumentError(Quoted(text, " is not ").append(expected)); };
  if (ec != std::errc() || ptr == t.data() || number < 0 || !std::isfinite(number)) return bad();
  const std::string_view suffix(ptr, static_cast<size_t>(t.data() + t.size() - ptr));
  double scale = static_cast<double>(bare_scale);
  if (!suffix.empty()) {
    auto unit = std::find_if(std::begin(units), std::end(units),
                             [&](const Unit& u) { return u.suffix == suffix; });
    if (unit == std::end(units)) return bad();
    scale = unit->scale;
  }
  const double value = number * scale;
  if (value > static_cast<double>(std::numeric_limits<int64_t>::max() / 2)) {
    return InvalidArgumentError(Quoted(text, " is too large"));
  }
  return static_cast<int64_t>(std::llround(value));
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                  std::tolower(static_cast<unsigned char>(b[j - 1]))
                              ? 0
                              : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const Key* FindByName(std::string_view name) {
  for (const Key& k : Keys()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

const Key* FindBySpark(std::string_view name) {
  for (const Key& k : Keys()) {
    if (!k.spark_name.empty() && k.spark_name == name) return &k;
  }
  return nullptr;
}

std::string_view Expected(Type type) {
  switch (type) {
    case Type::kInt:
      return "an integer";
    case Type::kDuration:
      return "a duration (1500 for ms, or 1.5s, 2min, 100ms)";
    case Type::kBytes:
      return "a size (1048576 for bytes, or 48m, 1g)";
    case Type::kText:
      return "a non-empty path";
  }
  return "";
}

Result<int64_t> ParseValue(const Key& key, std::string_view text, bool spark) {
  const int64_t bare = spark ? key.spark_bare_scale : 1;
  Result<int64_t> v = InvalidArgumentError("");
  switch (key.type) {
    case Type::kInt: {
      int64_t n = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      v = (ec == std::errc() && ptr == text.data() + text.size() && !text.empty())
              ? Result<int64_t>(n)
              : Result<int64_t>(InvalidArgumentError(Quoted(text, " is not an integer")));
      break;
    }
    case Type::kDuration:
      v = ParseDurationMs(text, bare);
      break;
    case Type::kBytes:
      v = ParseBytes(text, bare);
      break;
    case Type::kText:
      v = text.empty() ? Result<int64_t>(InvalidArgumentError("the value is empty"))
                       : Result<int64_t>(int64_t{0});
      break;
  }
  if (v.ok() && *v < key.min) {
    return InvalidArgumentError(Quoted(text, " is below the minimum of ") +
                                std::to_string(key.min) +
                                (key.type == Type::kDuration ? " ms"
                                 : key.type == Type::kBytes  ? " bytes"
                                                             : ""));
  }
  return v;
}

}  // namespace

const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = {
      {"ember.default.parallelism", Type::kInt, 1, "spark.default.parallelism", 1,
       "partitions of a shuffle when the program does not say (default: total cores)"},
      {"ember.task.maxFailures", Type::kInt, 1, "spark.task.maxFailures", 1,
       "attempts of one task before its job fails (default 4; 1 in local mode)"},
      {"ember.executor.heartbeatIntervalMs", Type::kDuration, 100,
       "spark.executor.heartbeatInterval", 1, "how often executors report (default 10s)"},
      {"ember.executor.heartbeatTimeoutMs", Type::kDuration, 1000, "spark.network.timeout",
       kSeconds, "silence after which an executor is lost (default 120s)"},
      {"ember.executor.registrationTimeoutMs", Type::kDuration, 100, "", 1,
       "wait for executors to register (default 60s; 5min for external executors)"},
      {"ember.driver.maxResultSize", Type::kBytes, 0, "spark.driver.maxResultSize", 1,
       "results held by the driver at once, over all tasks of a job; 0 is no limit "
       "(default 1g)"},
      {"ember.stage.maxConsecutiveAttempts", Type::kInt, 1, "spark.stage.maxConsecutiveAttempts", 1,
       "times a stage may lose its shuffle input before its job fails (default 4)"},
      {"ember.locality.waitMs", Type::kDuration, 0, "spark.locality.wait", 1,
       "how long a task that reads a cached partition waits for a core where it is kept "
       "before it runs elsewhere and recomputes it (default 3s)"},
      {"ember.memory.budget", Type::kBytes, 1 << 20, "", 1,
       "memory each executor's tasks may fill with records (hash tables, sort buffers, "
       "shuffle output) before they spill to disk (default 60% of the executor's memory; in "
       "local mode, of the driver's)"},
      {"ember.task.killGraceMs", Type::kDuration, 0, "", 1,
       "how long a failed job waits for its killed tasks to stop (default 10s)"},
      {"ember.shuffle.io.maxRetries", Type::kInt, 0, "spark.shuffle.io.maxRetries", 1,
       "retries of a failed shuffle fetch before its map output is recomputed (default 3)"},
      {"ember.shuffle.io.retryWaitMs", Type::kDuration, 1, "spark.shuffle.io.retryWait", kSeconds,
       "base wait before a fetch retry, doubled each time, with jitter (default 1s)"},
      {"ember.shuffle.io.idleTimeoutMs", Type::kDuration, 100, "spark.shuffle.io.connectionTimeout",
       kSeconds, "a fetch that receives nothing for this long is retried (default 120s)"},
      {"ember.reducer.maxSizeInFlight", Type::kBytes, 1 << 16, "spark.reducer.maxSizeInFlight",
       kMiB, "shuffle bytes a reduce task buffers from its fetches (default 48m)"},
      {"ember.reducer.maxReqsInFlight", Type::kInt, 1, "spark.reducer.maxReqsInFlight", 1,
       "map outputs a reduce task fetches at once (default 8)"},
      {"ember.eventLog.dir", Type::kText, 0, "", 1,
       "write the application's event log here, for ember-history (default: none)"},
      {"ember.ui.retainedJobs", Type::kInt, 1, "spark.ui.retainedJobs", 1,
       "finished jobs the web UI keeps (default 1000)"},
      {"ember.ui.retainedStages", Type::kInt, 1, "spark.ui.retainedStages", 1,
       "finished stage attempts the web UI keeps (default 1000)"},
      {"ember.ui.retainedTasks", Type::kInt, 1, "", 1,
       "finished tasks the web UI keeps per stage attempt (default 1000)"},
  };
  return keys;
}

std::optional<int64_t> Settings::Get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Result<int64_t> ParseDurationMs(std::string_view text, int64_t bare_scale) {
  return ParseScaled(text, bare_scale, kDurationUnits, "a duration (e.g. 1500, 1.5s, 2min, 100ms)");
}

Result<int64_t> ParseBytes(std::string_view text, int64_t bare_scale) {
  return ParseScaled(text, bare_scale, kByteUnits, "a size (e.g. 1048576, 48m, 1g)");
}

Result<Parsed> Parse(const std::map<std::string, std::string>& raw) {
  Parsed out;
  // Which spelling set each key, to catch "ember.x=1 spark.x=2".
  std::map<std::string_view, std::string> set_by;
  for (const auto& [name, value] : raw) {
    const bool is_ember = name.rfind("ember.", 0) == 0;
    const bool is_spark = name.rfind("spark.", 0) == 0;
    if (!is_ember && !is_spark) continue;  // the application's own
    const Key* key = is_ember ? FindByName(name) : FindBySpark(name);
    if (key == nullptr && is_spark) {
      out.ignored.push_back(name + "=" + value);
      continue;
    }
    if (key == nullptr) {
      const Key* closest = nullptr;
      size_t best = std::numeric_limits<size_t>::max();
      for (const Key& k : Keys()) {
        const size_t d = EditDistance(name, k.name);
        if (d < best) {
          best = d;
          closest = &k;
        }
      }
      return InvalidArgumentError("unknown configuration key '" + name +
                                  "'; the closest known key is '" + std::string(closest->name) +
                                  "' (see docs/binaries.md for every key)");
    }
    auto v = ParseValue(*key, value, is_spark);
    if (!v.ok()) {
      return InvalidArgumentError("invalid --conf " + name + "=" + value + ": " +
                                  v.status().message() + "; expected " +
                                  std::string(Expected(key->type)));
    }
    if (key->type == Type::kText) {
      out.settings.SetText(std::string(key->name), value);
      continue;
    }
    auto previous = out.settings.Get(key->name);
    if (previous.has_value() && *previous != *v) {
      return InvalidArgumentError("--conf " + set_by[key->name] + " and " + name +
                                  " set the same thing to different values");
    }
    out.settings.Set(std::string(key->name), *v);
    set_by[key->name] = name;
  }
  return out;
}

}  // namespace ember::conf
