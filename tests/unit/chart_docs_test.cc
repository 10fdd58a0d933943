// The Helm chart against what it must stay equal to: its CRD is the file in
// manifests/crds, its monitoring assets are the files in monitoring/, and its
// README's values table documents exactly the keys of values.yaml, with
// their defaults.
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "operator/kube/config/config.h"
#include "operator/kube/config/yaml_json.h"

namespace ember {
namespace {

using nlohmann::json;

const std::string kRoot = EMBER_REPO_ROOT;
const std::string kChart = kRoot + "/charts/ember-operator";

std::string Read(const std::string& path) {
  auto text = kube::ReadFileToString(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : "";
}

TEST(ChartTest, CrdIsTheManifestsFile) {
  const std::string chart = Read(kChart + "/crds/ember.dev_sparkapplications.yaml");
  ASSERT_FALSE(chart.empty());
  EXPECT_EQ(chart, Read(kRoot + "/manifests/crds/ember.dev_sparkapplications.yaml"))
      << "charts/ember-operator/crds/ differs from manifests/crds/: copy manifests/crds/"
         "ember.dev_sparkapplications.yaml over it";
}

TEST(ChartTest, MonitoringAssetsAreTheMonitoringFiles) {
  for (const char* file : {"alerts/ember-alerts.yaml", "dashboards/ember.json"}) {
    const std::string chart = Read(kChart + "/monitoring/" + file);
    ASSERT_FALSE(chart.empty()) << file;
    EXPECT_EQ(chart, Read(kRoot + "/monitoring/" + file))
        << "charts/ember-operator/monitoring/" << file << " differs from monitoring/" << file;
  }
}

// Every path of values.yaml; an empty map or list, or a scalar, is a leaf.
void Paths(const std::string& prefix, const json& v, std::set<std::string>* all,
           std::set<std::string>* leaves) {
  if (!prefix.empty()) all->insert(prefix);
  if (v.is_object() && !v.empty()) {
    for (const auto& [k, child] : v.items())
      Paths(prefix.empty() ? k : prefix + "." + k, child, all, leaves);
  } else {
    leaves->insert(prefix);
  }
}

TEST(ChartTest, ReadmeValuesTableMatchesValuesYaml) {
  auto docs = kube::YamlToJson(Read(kChart + "/values.yaml"));
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 1u);
  std::set<std::string> all, leaves;
  Paths("", docs->front(), &all, &leaves);

  // Rows look like "| `key` | `default` | meaning |"; the default is YAML.
  std::map<std::string, std::string> rows;
  std::istringstream readme(Read(kChart + "/README.md"));
  bool in_values = false;
  for (std::string line; std::getline(readme, line);) {
    if (line.rfind("## ", 0) == 0) in_values = line == "## Values";
    if (!in_values || line.rfind("| `", 0) != 0) continue;
    const size_t end = line.find('`', 3);
    const size_t open = line.find('`', line.find('|', end) + 1);
    const size_t close = line.find('`', open + 1);
    ASSERT_TRUE(open != std::string::npos && close != std::string::npos)
        << "no `default` in: " << line;
    rows[line.substr(3, end - 3)] = line.substr(open + 1, close - open - 1);
  }
  ASSERT_FALSE(rows.empty()) << "no values table under '## Values' in the chart's README";
  for (const auto& [row, cell] : rows) {
    if (!all.count(row)) {
      ADD_FAILURE() << "the README documents '" << row << "', which values.yaml does not have";
      continue;
    }
    json value = docs->front();
    std::stringstream parts(row);
    for (std::string part; std::getline(parts, part, '.');) value = value[part];
    auto documented = kube::YamlToJson("v: " + cell);
    ASSERT_TRUE(documented.ok() && documented->size() == 1)
        << row << ": the default `" << cell << "` is not YAML";
    EXPECT_EQ(documented->front()["v"], value)
        << row << ": the README says `" << cell << "`, values.yaml has " << value.dump();
  }
  for (const std::string& leaf : leaves) {
    bool documented = false;
    for (const auto& [row, cell] : rows) {
      documented |= leaf == row || leaf.rfind(row + ".", 0) == 0;
    }
    EXPECT_TRUE(documented) << "values.yaml has '" << leaf
                            << "', which the README's table does not document";
  }
}

}  // namespace
}  // namespace ember
