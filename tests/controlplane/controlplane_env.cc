#include "tests/controlplane/controlplane_env.h"

#include <sys/wait.h>

#include <cstdio>
#include <random>

#include <cpprest/http_client.h>

namespace ember::kube::testing {
namespace {

struct State {
  ClientConfig config;
  bool started_by_us = false;
};

State& GetState() {
  static State state;
  return state;
}

}  // namespace

std::string ControlPlane::RepoRoot() {
  return EMBER_REPO_ROOT;
}

std::string ControlPlane::KubeconfigPath() {
  return RepoRoot() + "/.cache/controlplane/kubeconfig";
}

Status ControlPlane::Script(const std::string& args, std::string* out) {
  const std::string command = "bash '" + RepoRoot() + "/hack/controlplane.sh' " + args;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return ErrnoError("popen " + command, errno);
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  int rc = pclose(pipe);
  if (out != nullptr) *out = output;
  if (rc != 0) {
    return InternalError(command + " exited with " + std::to_string(WEXITSTATUS(rc)));
  }
  return Status::Ok();
}

void ControlPlane::SetUp() {
  State& state = GetState();
  state.started_by_us = !Script("status").ok();
  Status up = Script("up");
  ASSERT_TRUE(up.ok()) << up.ToString();
  Result<ClientConfig> config = LoadKubeconfig(KubeconfigOptions{KubeconfigPath(), ""});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  state.config = *config;
}

void ControlPlane::TearDown() {
  if (!GetState().started_by_us) return;
  Status down = Script("down");
  EXPECT_TRUE(down.ok()) << down.ToString();
}

const ClientConfig& ControlPlane::Config() {
  return GetState().config;
}

std::unique_ptr<Client> ControlPlane::NewClient() {
  return NewClient(Config());
}

std::unique_ptr<Client> ControlPlane::NewClient(const ClientConfig& config) {
  Result<std::unique_ptr<Client>> client = Client::FromConfig(config);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(client).value() : nullptr;
}

int ControlPlane::ApiServerPort() {
  const std::string& server = Config().server;
  return std::stoi(server.substr(server.rfind(':') + 1));
}

std::string ControlPlane::EtcdUrl() {
  std::string out;
  Status status = Script("etcd-url", &out);
  EXPECT_TRUE(status.ok()) << status.ToString();
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string ControlPlane::CreateNamespace(const std::string& prefix) {
  static std::mt19937_64 rng{std::random_device{}()};
  static std::mutex mu;
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu);
    name = prefix + "-" + std::to_string(rng() % 1000000000);
  }
  auto client = NewClient();
  nlohmann::json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
  ApiResult<nlohmann::json> created = client->Create(resources::Namespaces(), "", ns);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  return name;
}

Status CompactEtcd(const std::string& revision) {
  try {
    web::http::client::http_client etcd(web::uri(ControlPlane::EtcdUrl()));
    nlohmann::json body = {{"revision", revision}, {"physical", true}};
    web::http::http_request request(web::http::methods::POST);
    request.set_request_uri(web::uri("/v3/kv/compaction"));
    request.set_body(body.dump(), "application/json");
    web::http::http_response response = etcd.request(request).get();
    std::string text = response.extract_utf8string(true).get();
    if (response.status_code() != 200) {
      return InternalError("etcd compaction: HTTP " + std::to_string(response.status_code()) +
                           ": " + text);
    }
    return Status::Ok();
  } catch (const std::exception& e) {
    return UnavailableError(std::string("etcd compaction: ") + e.what());
  }
}

}  // namespace ember::kube::testing
