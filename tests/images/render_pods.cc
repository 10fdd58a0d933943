// Prints the command line the operator puts into one pod of a
// SparkApplication, each argument ended by a NUL, so the image tests run the
// containers with exactly what a driver or executor pod would run:
//
//   render_pods APP.json driver
//   render_pods APP.json executor ID
//
// APP.json is a SparkApplication as the API server returns it (metadata with
// name, namespace and uid; spec). The submission id is the first attempt's.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "operator/controller/names.h"
#include "operator/controller/resources.h"
#include "operator/controller/spec.h"

namespace {

int Fail(const std::string& message) {
  std::cerr << "render_pods: error: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using nlohmann::json;
  namespace sa = ember::sparkapp;
  const std::string role = argc >= 3 ? argv[2] : "";
  if (argc < 3 || (role == "executor" && argc != 4) || (role != "driver" && role != "executor")) {
    return Fail("usage: render_pods APP.json driver | render_pods APP.json executor ID");
  }
  std::ifstream in(argv[1]);
  if (!in) return Fail(std::string("cannot read ") + argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  json app = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (app.is_discarded()) return Fail(std::string(argv[1]) + " is not JSON");
  const json& meta = app.value("metadata", json::object());
  sa::AppRef ref{meta.value("name", ""), meta.value("namespace", "default"), meta.value("uid", "")};
  if (ref.name.empty() || ref.uid.empty())
    return Fail("metadata.name and metadata.uid are required");
  auto spec = sa::ParseSpec(app.value("spec", json::object()));
  if (!spec.ok()) return Fail(spec.status().ToString());
  const std::string submission = sa::SubmissionId(ref.uid, 1, 1);
  json pod;
  if (role == "driver") {
    pod = sa::BuildDriverPod(ref, *spec, submission);
  } else {
    auto built = sa::BuildExecutorPod(ref, *spec, submission, std::stoi(argv[3]), "");
    if (!built.ok()) return Fail(built.status().ToString());
    pod = std::move(built).value();
  }
  const json& container = pod["spec"]["containers"][0];
  for (const auto& part : {container["command"], container["args"]}) {
    for (const auto& arg : part) {
      const std::string s = arg.get<std::string>();
      std::fwrite(s.data(), 1, s.size() + 1, stdout);  // with its NUL
    }
  }
  return 0;
}
