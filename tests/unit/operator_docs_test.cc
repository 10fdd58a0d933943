// docs/operator.md's field reference against the CRD it documents: every
// spec field of manifests/crds is in the table, every row names a real
// field, and every default the table shows is the CRD's.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "operator/kube/config/config.h"
#include "operator/kube/config/yaml_json.h"

namespace ember::sparkapp {
namespace {

using nlohmann::json;

std::string Read(const std::string& path) {
  auto text = kube::ReadFileToString(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : "";
}

// path -> the schema's default as text ("" when none), for every field the
// operator reads (pass-through objects are leaves).
void Walk(const std::string& path, const json& schema, std::map<std::string, std::string>* out) {
  auto props = schema.find("properties");
  if (props == schema.end()) return;
  for (const auto& [name, field] : props->items()) {
    const std::string p = path + "." + name;
    std::string def;
    if (field.contains("default") && !field["default"].is_object()) {
      def = field["default"].is_string() ? field["default"].get<std::string>() : field["default"].dump();
    }
    (*out)[p] = def;
    if (field.value("type", "") == "object" && field.contains("properties") &&
        !field.value("x-kubernetes-preserve-unknown-fields", false)) {
      Walk(p, field, out);
    }
  }
}

std::string Trim(std::string s) {
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// Every spec field of the CRD, with its default: path -> default.
std::map<std::string, std::string> CrdFields() {
  std::map<std::string, std::string> crd;
  auto docs = kube::YamlToJson(Read(std::string(EMBER_REPO_ROOT) + "/manifests/crds/ember.dev_sparkapplications.yaml"));
  EXPECT_TRUE(docs.ok() && docs->size() == 1);
  if (!docs.ok() || docs->size() != 1) return crd;
  const json& spec = (*docs)[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
  Walk("spec", spec, &crd);
  // Objects that only group fields are documented through their fields.
  for (const char* group : {"spec.monitoring", "spec.driver", "spec.executor", "spec.restartPolicy", "spec.timeouts"}) {
    crd.erase(group);
  }
  EXPECT_GT(crd.size(), 50u) << "the CRD's spec schema was not walked";
  return crd;
}

// manifests/examples/every-field.yaml is the reference that sets every field,
// and the control-plane test applies it to check each one reaches the pods;
// a field added to the CRD must be added there too.
TEST(OperatorDocsTest, EveryFieldExampleSetsEveryField) {
  auto example = kube::YamlToJson(Read(std::string(EMBER_REPO_ROOT) + "/manifests/examples/every-field.yaml"));
  ASSERT_TRUE(example.ok() && example->size() == 1);
  const json& spec = (*example)[0]["spec"];
  for (const auto& [path, def] : CrdFields()) {
    const json* at = &spec;
    std::stringstream parts(path.substr(std::string("spec.").size()));
    for (std::string part; at != nullptr && std::getline(parts, part, '.');) {
      at = at->is_object() && at->contains(part) ? &(*at)[part] : nullptr;
    }
    EXPECT_NE(at, nullptr) << path << " is in the CRD but not in manifests/examples/every-field.yaml";
  }
}

TEST(OperatorDocsTest, FieldReferenceMatchesTheCrd) {
  const std::map<std::string, std::string> crd = CrdFields();

  std::map<std::string, std::string> documented;  // path -> Default cell
  std::istringstream doc(Read(std::string(EMBER_REPO_ROOT) + "/docs/operator.md"));
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind("| `spec.", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) cells.push_back(Trim(cell));
    ASSERT_GE(cells.size(), 4u) << line;
    std::string path = cells[0].substr(1, cells[0].size() - 2);  // strip backticks
    const size_t brace = path.find("{driver,executor}");
    std::vector<std::string> paths;
    if (brace == std::string::npos) {
      paths.push_back(path);
    } else {
      for (const char* role : {"driver", "executor"}) {
        paths.push_back(path.substr(0, brace) + role + path.substr(brace + 17));
      }
    }
    for (const std::string& p : paths) {
      EXPECT_TRUE(documented.emplace(p, cells[2]).second) << p << " documented twice";
    }
  }
  for (const auto& [path, def] : crd) {
    auto it = documented.find(path);
    if (it == documented.end()) {
      ADD_FAILURE() << path << " is in the CRD but not in docs/operator.md";
      continue;
    }
    if (!def.empty()) {
      EXPECT_NE(it->second.find("`" + def + "`"), std::string::npos)
          << path << ": the CRD defaults to " << def << ", the docs say " << it->second;
    }
  }
  for (const auto& [path, cell] : documented) {
    EXPECT_TRUE(crd.count(path)) << path << " is documented but not in the CRD";
  }
}

}  // namespace
}  // namespace ember::sparkapp
