// YAML documents as JSON objects, for manifests written in YAML (a CRD, a
// SparkApplication) that the client sends as JSON.
//
// Scalars resolve the way kubectl reads manifests (go-yaml, YAML 1.1): a
// quoted scalar is a string; a plain one is null (empty, ~, null), a boolean
// (true/false, yes/no, on/off, y/n), an integer, a float, or else a string.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ember/status.h"

namespace ember::kube {

// Every non-empty document of `yaml`; kInvalidArgument with the parser's
// line and column on malformed YAML.
Result<std::vector<nlohmann::json>> YamlToJson(std::string_view yaml);

}  // namespace ember::kube
