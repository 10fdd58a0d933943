// The engine's configuration keys (--conf KEY=VALUE, a SparkApplication's
// sparkConf): one table of every ember.* key, its type and bounds, and the
// Spark key that means the same, so manifests written for the Spark
// operators carry over.
//
//   ember.*  must be a known key: a typo is an error naming the closest one.
//   spark.*  with an Ember equivalent is honoured (in Spark's own units: a
//            bare spark.network.timeout is seconds); any other is ignored
//            and reported once.
//   others   are the application's own, read with Context::getConf.
//
// Thread-safety: pure functions over immutable tables.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ember/status.h"

namespace ember::conf {

enum class Type {
  kInt,       // a plain integer
  kDuration,  // milliseconds: "1500", "1.5s", "2min", "100ms"
  kBytes,     // bytes: "1048576", "48m", "1g"
  kText,      // a non-empty string (a path)
};

struct Key {
  std::string_view name;
  Type type;
  int64_t min;
  // The Spark key with the same meaning, or empty.
  std::string_view spark_name;
  // What a bare number means for the Spark key: 1 (ms or bytes), 1000
  // (seconds), 1 << 20 (MiB).
  int64_t spark_bare_scale;
  std::string_view help;
};

// Every ember.* key, in documentation order.
const std::vector<Key>& Keys();

// Known keys' values, validated and typed (durations in ms, sizes in bytes).
class Settings {
 public:
  std::optional<int64_t> Get(std::string_view name) const;
  int64_t GetOr(std::string_view name, int64_t fallback) const {
    return Get(name).value_or(fallback);
  }
  void Set(std::string name, int64_t value) { values_[std::move(name)] = value; }
  // kText keys; empty when unset.
  std::string GetText(std::string_view name) const {
    auto it = texts_.find(name);
    return it == texts_.end() ? std::string() : it->second;
  }
  void SetText(std::string name, std::string value) { texts_[std::move(name)] = std::move(value); }

 private:
  std::map<std::string, int64_t, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> texts_;
};

struct Parsed {
  Settings settings;
  // One line per spark.* key that has no Ember equivalent.
  std::vector<std::string> ignored;
};

// Validates every entry of `raw`. INVALID_ARGUMENT for an unknown ember.*
// key ("unknown configuration key 'ember.tsk.maxFailures'; the closest known
// key is 'ember.task.maxFailures'"), a value that does not parse or is below
// the key's minimum, or an ember.* key and its spark.* equivalent given
// different values.
Result<Parsed> Parse(const std::map<std::string, std::string>& raw);

// "--conf ember.x": Spark-style durations and sizes, exposed for tests.
Result<int64_t> ParseDurationMs(std::string_view text, int64_t bare_scale);
Result<int64_t> ParseBytes(std::string_view text, int64_t bare_scale);

}  // namespace ember::conf
