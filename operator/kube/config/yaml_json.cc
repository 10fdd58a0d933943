#include "operator/kube/config/yaml_json.h"

#include <regex>

#include <yaml-cpp/yaml.h>

namespace ember::kube {
namespace {

using nlohmann::json;

json ScalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  // YAML 1.1's booleans, which kubectl (go-yaml) applies too: a label value
  // of y or on is a boolean to the API server, and must be here.
  static const std::regex kTrue("^(y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON)$");
  static const std::regex kFalse("^(n|N|no|No|NO|false|False|FALSE|off|Off|OFF)$");
  if (std::regex_match(text, kTrue)) return true;
  if (std::regex_match(text, kFalse)) return false;
  static const std::regex kInt("^[-+]?[0-9]+$");
  static const std::regex kFloat("^[-+]?([0-9]*\\.[0-9]+|[0-9]+\\.)([eE][-+]?[0-9]+)?$");
  if (std::regex_match(text, kInt)) {
    try {
      return std::stoll(text);
    } catch (const std::out_of_range&) {
      return text;
    }
  }
  if (std::regex_match(text, kFloat)) return std::stod(text);
  return text;
}

json NodeToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = NodeToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(NodeToJson(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    default:
      return nullptr;
  }
}

}  // namespace

Result<std::vector<json>> YamlToJson(std::string_view yaml) {
  try {
    std::vector<json> out;
    for (const YAML::Node& doc : YAML::LoadAll(std::string(yaml))) {
      if (doc.IsNull()) continue;
      out.push_back(NodeToJson(doc));
    }
    return out;
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                                std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

}  // namespace ember::kube
