// Operator benchmark against the real control plane (hack/controlplane.sh).
//
// Starts ember-operator watching a fresh namespace, creates N
// SparkApplications from a pool of writer threads as fast as the client
// allows, and watches pods until every driver and executor pod of every
// application exists. Prints:
//   - applications per minute, from the first create to the last pod;
//   - p50 / p99 / max from an application's create (as its POST returned)
//     to its driver pod appearing in a watch (both clocks are this
//     process's);
//   - the operator's peak RSS (VmHWM) and CPU seconds, and the API server's
//     CPU seconds over the same span, for context.
//
//   ember-bench-operator --kubeconfig PATH --operator BIN --crd FILE
//       [--apps N] [--executors E] [--threads T] [--workers W] [--rate R]
//
// With --rate, applications are created at R per second instead of as fast
// as possible: the latency then shows how fast the operator reacts, where a
// flood that outruns the API server shows mostly time spent queued.
//
// Figures are printed, not asserted. With no kubelet, pods stay Pending:
// this measures submission, which is what the operators compared here
// (the Kubeflow Spark Operator's published 130-155 per minute) differ in.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client/client.h"
#include "operator/kube/config/yaml_json.h"
#include "operator/kube/core/json_util.h"

extern char** environ;

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace ember::kube;

const GroupVersionResource kApps{"ember.dev", "v1alpha1", "sparkapplications", true};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// utime + stime of a process, in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  std::vector<std::string> v;
  while (fields >> f) v.push_back(f);
  if (v.size() < 13) return -1;
  return (std::stod(v[11]) + std::stod(v[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

pid_t ApiServerPid(const std::string& kubeconfig) {
  const std::string dir = kubeconfig.substr(0, kubeconfig.rfind('/'));
  std::ifstream in(dir + "/apiserver.pid");
  pid_t pid = -1;
  in >> pid;
  return pid;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// The body of http://127.0.0.1:port/path, or "".
std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[8192];
      for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) response.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

json App(const std::string& ns, int i, int executors) {
  return {{"apiVersion", "ember.dev/v1alpha1"},
          {"kind", "SparkApplication"},
          {"metadata", {{"name", "pi-" + std::to_string(i)}, {"namespace", ns}}},
          {"spec",
           {{"image", "ember-driver:bench"},
            {"mainApplicationFile", "local:///opt/ember/examples/libsparkpi.so"},
            {"arguments", {"10"}},
            {"driver", {{"coreRequest", "100m"}, {"memory", "256m"}}},
            {"executor", {{"instances", executors}, {"coreRequest", "100m"}, {"memory", "256m"}}}}}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig, operator_bin, crd_path;
  int apps = 1000, executors = 2, threads = 16, workers = 16;
  bool keep = false;
  double rate = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--kubeconfig") kubeconfig = value;
    else if (flag == "--operator") operator_bin = value;
    else if (flag == "--crd") crd_path = value;
    else if (flag == "--apps") apps = std::stoi(value);
    else if (flag == "--executors") executors = std::stoi(value);
    else if (flag == "--threads") threads = std::stoi(value);
    else if (flag == "--workers") workers = std::stoi(value);
    else if (flag == "--keep") keep = value == "true";
    else if (flag == "--rate") rate = std::stod(value);
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (kubeconfig.empty() || operator_bin.empty() || crd_path.empty()) {
    std::cerr << "usage: ember-bench-operator --kubeconfig PATH --operator BIN --crd FILE [--apps N] "
                 "[--executors E] [--threads T] [--workers W]\n";
    return 2;
  }
  auto config = LoadKubeconfig(KubeconfigOptions{kubeconfig, ""});
  if (!config.ok()) {
    std::cerr << "kubeconfig: " << config.status().ToString() << "\n";
    return 1;
  }
  SkipSystemCaBundle(*config);
  auto client_or = Client::FromConfig(*config);
  if (!client_or.ok()) {
    std::cerr << client_or.status().ToString() << "\n";
    return 1;
  }
  Client* client = client_or->get();

  // The CRD, created or replaced.
  auto crd_text = ReadFileToString(crd_path);
  auto crd_docs = crd_text.ok() ? YamlToJson(*crd_text) : ember::Result<std::vector<json>>(crd_text.status());
  if (!crd_docs.ok() || crd_docs->size() != 1) {
    std::cerr << "CRD " << crd_path << ": " << crd_docs.status().ToString() << "\n";
    return 1;
  }
  json crd = (*crd_docs)[0];
  if (auto existing = client->Get(resources::CustomResourceDefinitions(), "", "sparkapplications.ember.dev");
      existing.ok()) {
    crd["metadata"]["resourceVersion"] = ResourceVersionOf(*existing);
    (void)client->Update(resources::CustomResourceDefinitions(), crd);
  } else {
    (void)client->Create(resources::CustomResourceDefinitions(), "", crd);
  }
  for (int i = 0; i < 100 && !client->List(kApps, "default").ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  const std::string ns = "opbench-" + std::to_string(std::random_device{}() % 1000000000);
  if (auto created = client->Create(resources::Namespaces(), "",
                                    {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
      !created.ok()) {
    std::cerr << "namespace: " << created.status().ToString() << "\n";
    return 1;
  }

  // The operator, as its Deployment runs it (leader election on).
  const int metrics_port = FreePort();
  std::vector<std::string> args = {operator_bin,
                                   "--kubeconfig=" + kubeconfig,
                                   "--namespaces=" + ns,
                                   "--leader-election-namespace=" + ns,
                                   "--workers=" + std::to_string(workers),
                                   "--metrics-bind-address=127.0.0.1",
                                   "--metrics-port=" + std::to_string(metrics_port),
                                   "--health-port=-1",
                                   "--log-level=warning"};
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t op = -1;
  if (posix_spawn(&op, operator_bin.c_str(), nullptr, nullptr, cargs.data(), environ) != 0) {
    std::cerr << "cannot start " << operator_bin << "\n";
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // informers synced, lease taken

  // Every pod as it appears, by name.
  const size_t expected_pods = static_cast<size_t>(apps) * (1 + executors);
  std::mutex mu;
  std::map<std::string, Clock::time_point> seen;
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    std::string rv;
    while (!stop) {
      WatchOptions options;
      options.resource_version = rv;
      options.timeout_seconds = 60;
      if (rv.empty()) {
        auto listed = client->List(resources::Pods(), ns);
        if (listed.ok()) rv = ResourceVersionOf(*listed);
        continue;
      }
      (void)client->Watch(resources::Pods(), ns, options, [&](WatchEvent&& e) {
        const auto now = Clock::now();
        rv = ResourceVersionOf(e.object);
        if (e.type == WatchEventType::kAdded) {
          std::lock_guard<std::mutex> lock(mu);
          seen.emplace(StringAt(ObjectAt(e.object, "metadata"), "name"), now);
        }
        std::lock_guard<std::mutex> lock(mu);
        return !stop && seen.size() < expected_pods;
      });
      std::lock_guard<std::mutex> lock(mu);
      if (seen.size() >= expected_pods) break;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  const double op_cpu0 = CpuSeconds(op);
  const pid_t apiserver = ApiServerPid(kubeconfig);
  const double api_cpu0 = CpuSeconds(apiserver);
  std::printf("operator bench: %d SparkApplications x (1 driver + %d executors) in %s; %d writer threads, "
              "%d operator workers; %s\n",
              apps, executors, ns.c_str(), threads, workers,
              rate > 0 ? ("created at " + std::to_string(static_cast<int>(rate)) + " per second").c_str()
                       : "created as fast as the API server takes them");
  std::vector<Clock::time_point> created_at(static_cast<size_t>(apps));
  std::atomic<int> next{0}, failures{0};
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < apps; i = next++) {
        if (rate > 0) std::this_thread::sleep_until(start + std::chrono::microseconds(static_cast<int64_t>(i * 1e6 / rate)));
        if (client->Create(kApps, ns, App(ns, i, executors)).ok()) {
          created_at[static_cast<size_t>(i)] = Clock::now();
        } else {
          ++failures;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  const double create_s = Seconds(Clock::now() - start);
  std::printf("created: %d applications in %.2f s (%.0f/s), %d failed\n", apps, create_s, apps / create_s,
              failures.load());
  const auto deadline = Clock::now() + std::chrono::minutes(10);
  size_t have = 0;
  while (Clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu);
      have = seen.size();
    }
    if (have >= expected_pods) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string metrics = HttpGet(metrics_port, "/metrics");
  const double op_cpu = CpuSeconds(op) - op_cpu0;
  const double api_cpu = CpuSeconds(apiserver) - api_cpu0;
  const long op_rss_peak = StatusKb(op, "VmHWM");
  const long op_rss = StatusKb(op, "VmRSS");
  stop = true;
  kill(op, SIGTERM);
  int status = 0;
  waitpid(op, &status, 0);
  watcher.join();

  std::vector<double> to_driver;
  Clock::time_point last = start;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [name, at] : seen) last = std::max(last, at);
    for (int i = 0; i < apps; ++i) {
      auto it = seen.find("pi-" + std::to_string(i) + "-driver");
      if (it != seen.end()) to_driver.push_back(Seconds(it->second - created_at[static_cast<size_t>(i)]));
    }
  }
  const double total_s = Seconds(last - start);
  std::printf("pods:    %zu of %zu seen, the last %.2f s after the first create\n", have, expected_pods, total_s);
  std::printf("\n%-44s %10.0f\n", "applications per minute (create -> all pods)", apps / total_s * 60);
  std::printf("%-44s %10.3f s\n", "create -> driver pod, p50", Percentile(to_driver, 0.50));
  std::printf("%-44s %10.3f s\n", "create -> driver pod, p99", Percentile(to_driver, 0.99));
  std::printf("%-44s %10.3f s\n", "create -> driver pod, max", Percentile(to_driver, 1.0));
  std::printf("%-44s %10.1f MB (%.1f MB at the end)\n", "operator peak RSS", op_rss_peak / 1024.0, op_rss / 1024.0);
  std::printf("%-44s %10.2f s\n", "operator CPU", op_cpu);
  std::printf("%-44s %10.2f s\n", "kube-apiserver CPU (same span)", api_cpu);
  std::printf("%-44s", "operator API requests per application");
  for (const char* verb : {"create", "update", "patch", "delete", "get", "list"}) {
    double n = 0;
    const std::string prefix = std::string("ember_operator_api_requests_total{code=\"");
    for (size_t at = metrics.find(prefix); at != std::string::npos; at = metrics.find(prefix, at + 1)) {
      const size_t eol = metrics.find('\n', at);
      const std::string line = metrics.substr(at, eol - at);
      if (line.find(std::string("verb=\"") + verb + "\"}") == std::string::npos) continue;
      n += std::stod(line.substr(line.rfind(' ') + 1));
    }
    std::printf(" %s %.2f", verb, n / apps);
  }
  std::printf("\n");
  std::printf("\ntargets: >= 3000 applications/minute, p99 < 1 s, operator RSS < 50 MB "
              "(Kubeflow Spark Operator: ~130-155/minute on 25-35 cores)\n");

  // Leave a developer's control plane as it was: the namespace's objects go
  // (namespace deletion itself needs kube-controller-manager).
  if (keep) {
    std::printf("kept namespace %s\n", ns.c_str());
    return have >= expected_pods ? 0 : 1;
  }
  for (const GroupVersionResource& gvr : {kApps, resources::Pods(), resources::Services(), resources::Secrets(),
                                          resources::Events()}) {
    auto path = ResourcePath(gvr, ns, {});
    if (path.ok()) (void)client->Do(HttpRequest{"DELETE", *path, {}, {}, {}, "delete"});
  }
  return have >= expected_pods ? 0 : 1;
}
