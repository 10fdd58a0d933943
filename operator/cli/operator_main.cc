// ember-operator: runs the SparkApplication controller against a cluster.
// Flags are documented in docs/operator.md.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <sstream>
#include <stop_token>
#include <thread>

#include "common/duration.h"
#include "common/flags.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/signal_watcher.h"
#include "operator/cli/url_check.h"
#include "operator/controller/controller.h"
#include "operator/controller/names.h"
#include "operator/controller/units.h"
#include "operator/events/event_queue.h"
#include "operator/kube/client/client.h"
#include "operator/kube/config/config.h"
#include "operator/leader/leader_election.h"

namespace {

using ember::Result;
using ember::Status;

constexpr int kUsageError = 2;
constexpr int kMaxPort = 65535;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "ember-operator: error: %s\n", message.c_str());
  return code;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string DefaultIdentity() {
  const char* pod = std::getenv("POD_NAME");
  std::string base;
  if (pod != nullptr && *pod != '\0') {
    base = pod;
  } else {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    base = host;
  }
  // Unique even for two replicas on one host, as client-go does.
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof(suffix), "_%08x", static_cast<unsigned>(rd()));
  return base + suffix;
}

std::string DefaultLeaseNamespace(const ember::kube::ClientConfig& config) {
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns != nullptr && *ns != '\0') return ns;
  return config.default_namespace.empty() ? "default" : config.default_namespace;
}

// The API server answers and serves the SparkApplication API: the CRD is
// installed. Transient failures are retried for a while; a missing CRD or
// refused credentials are reported at once.
Status CheckApi(ember::kube::Client* client, std::chrono::milliseconds wait, std::stop_token stop) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  ember::kube::HttpRequest request{"GET", "/apis/ember.dev/v1alpha1", {}, {}, {}, "get"};
  ember::kube::CallOptions call;
  call.max_retries = 0;
  call.timeout = std::chrono::seconds(5);
  call.stop = stop;
  while (true) {
    auto answer = client->Do(request, call);
    if (answer.ok()) return Status::Ok();
    const auto& e = answer.error();
    if (e.IsNotFound()) {
      return ember::FailedPreconditionError(
          "the SparkApplication CRD (sparkapplications.ember.dev) is not installed on " +
          client->config().server + ": kubectl apply -f manifests/crds/");
    }
    if (e.http_code == 401 || e.http_code == 403) {
      return ember::PermissionDeniedError("the API server at " + client->config().server +
                                          " refused the operator's credentials: " + e.message);
    }
    if (std::chrono::steady_clock::now() > deadline || stop.stop_requested()) {
      return ember::UnavailableError("cannot reach the Kubernetes API server at " +
                                     client->config().server + ": " + e.message);
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

// Waits for `stop`, handing memory the allocator holds but no longer uses
// back to the system every few seconds meanwhile. A burst of submissions
// (responses, watch events, objects replaced in the cache) leaves freed
// memory scattered through the heap, which glibc keeps otherwise: a fifth
// of the operator's resident memory after 1,000 applications.
void WaitForStop(std::stop_token stop) {
  constexpr std::chrono::seconds kTrimEvery{5};
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock<std::mutex> lock(mu);
  while (!cv.wait_for(lock, stop, kTrimEvery, [] { return false; })) {
    if (stop.stop_requested()) return;
    malloc_trim(0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives each thread that allocates an arena of its own; with a
  // worker pool, HTTP threads and informers that multiplied the operator's
  // resident memory by fragmentation alone. Two arenas keep contention low.
  mallopt(M_ARENA_MAX, 2);
  using ember::cli::FlagParser;
  FlagParser flags(
      "ember-operator", "[options]",
      {
          {"kubeconfig", "FILE",
           "kubeconfig to use (default: $KUBECONFIG, in-cluster, ~/.kube/config)"},
          {"namespaces", "NS,...", "namespaces to watch (default: all)"},
          {"workers", "N", "concurrent reconciles (default 16)"},
          {"executor-image", "IMAGE", "executor image for specs that name none"},
          {"leader-elect", "BOOL", "elect a leader among replicas; only it writes (default true)"},
          {"leader-election-namespace", "NS", "namespace of the Lease (default: the operator's)"},
          {"leader-election-id", "NAME", "name of the Lease (default ember-operator)"},
          {"lease-duration", "DURATION", "leader lease duration (default 15s)"},
          {"renew-deadline", "DURATION", "leader renew deadline (default 10s)"},
          {"retry-period", "DURATION", "leader retry period (default 2s)"},
          {"metrics-bind-address", "ADDR", "address of /metrics and the probes (default 0.0.0.0)"},
          {"metrics-port", "PORT", "Prometheus /metrics port; -1 off (default 8080)"},
          {"health-port", "PORT", "/healthz and /readyz port; -1 off (default 8081)"},
          {"log-level", "LEVEL", "debug, info, warning, error or off (default info)"},
          {"log-format", "FORMAT", "json or text (default json)"},
          {"startup-timeout", "DURATION",
           "how long to wait for the API server at start (default 30s)"},
          {"check-url", "URL",
           "only check: GET URL until it answers 200, then exit 0 (for probes and helm test)"},
          {"check-contains", "TEXT", "with --check-url: the body must contain TEXT"},
          {"check-timeout", "DURATION",
           "with --check-url: give up after this long, exit 1 (default 30s)"},
          {"version", "", "print the version and exit"},
          {"help", "", "print this help and exit"},
      });
  if (Status st = flags.Parse(argc, argv); !st.ok()) return Fail(kUsageError, st.message());
  if (flags.IsSet("help")) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (flags.IsSet("version")) {
    std::printf("ember-operator %s\n", EMBER_VERSION);
    return 0;
  }
  if (!flags.positional().empty()) {
    return Fail(kUsageError, "unexpected argument '" + flags.positional()[0] + "'");
  }
  if (auto url = flags.Get("check-url")) {
    std::chrono::milliseconds timeout{30000};
    if (auto v = flags.Get("check-timeout")) {
      auto d = ember::ParseDuration(*v, "--check-timeout");
      if (!d.ok()) return Fail(kUsageError, d.status().message());
      timeout = *d;
    }
    if (Status st = ember::operator_cli::CheckUrl(*url, flags.GetOr("check-contains", ""), timeout);
        !st.ok()) {
      return Fail(st.code() == ember::StatusCode::kInvalidArgument ? kUsageError : 1, st.message());
    }
    std::printf("%s is ready\n", url->c_str());
    return 0;
  }
  if (flags.IsSet("check-contains") || flags.IsSet("check-timeout")) {
    return Fail(kUsageError, "--check-contains and --check-timeout need --check-url");
  }
  ember::LogLevel level = ember::LogLevel::kInfo;
  if (auto v = flags.Get("log-level"); v && !ember::ParseLogLevel(*v, &level)) {
    return Fail(kUsageError, "invalid --log-level '" + *v + "' (debug, info, warning, error, off)");
  }
  ember::LogFormat format = ember::LogFormat::kJson;
  if (auto v = flags.Get("log-format"); v && !ember::ParseLogFormat(*v, &format)) {
    return Fail(kUsageError, "invalid --log-format '" + *v + "' (json or text)");
  }
  ember::SetLogLevel(level);
  ember::SetLogFormat(format);
  ember::SetLogTag("operator");

  ember::sparkapp::ControllerOptions options;
  options.namespaces = SplitList(flags.GetOr("namespaces", ""));
  for (const std::string& ns : options.namespaces) {
    if (!IsDnsLabel(ns))
      return Fail(kUsageError, "invalid --namespaces entry '" + ns + "': not a namespace name");
  }
  if (auto v = flags.Get("workers")) {
    auto n = ember::cli::ParseIntFlag("workers", *v, 1, 256);
    if (!n.ok()) return Fail(kUsageError, n.status().message());
    options.workers = static_cast<int>(*n);
  }
  options.reconciler.default_executor_image = flags.GetOr("executor-image", "");
  bool leader_elect = true;
  if (auto v = flags.Get("leader-elect")) {
    auto b = ember::cli::ParseBoolFlag("leader-elect", *v);
    if (!b.ok()) return Fail(kUsageError, b.status().message());
    leader_elect = *b;
  }
  ember::kube::LeaderElectionConfig lease;
  lease.lease_name = flags.GetOr("leader-election-id", "ember-operator");
  for (const auto& [flag, target] : {std::pair{"lease-duration", &lease.lease_duration},
                                     std::pair{"renew-deadline", &lease.renew_deadline},
                                     std::pair{"retry-period", &lease.retry_period}}) {
    if (auto v = flags.Get(flag)) {
      auto d = ember::sparkapp::ParseDuration(*v, std::string("--") + flag);
      if (!d.ok()) return Fail(kUsageError, d.status().message());
      *target = *d;
    }
  }
  std::chrono::milliseconds startup_timeout{30'000};
  if (auto v = flags.Get("startup-timeout")) {
    auto d = ember::ParseDuration(*v, "--startup-timeout");
    if (!d.ok()) return Fail(kUsageError, d.status().message());
    startup_timeout = *d;
  }
  const std::string bind = flags.GetOr("metrics-bind-address", "0.0.0.0");
  int metrics_port = 8080;
  int health_port = 8081;
  for (const auto& [flag, target] :
       {std::pair{"metrics-port", &metrics_port}, std::pair{"health-port", &health_port}}) {
    if (auto v = flags.Get(flag)) {
      auto p = ember::cli::ParseIntFlag(flag, *v, -1, kMaxPort);
      if (!p.ok()) return Fail(kUsageError, p.status().message());
      *target = static_cast<int>(*p);
    }
  }

  ember::SignalWatcher::BlockTerminationSignals();
  std::stop_source stop;
  ember::SignalWatcher signals([&stop](int sig, int) {
    EMBER_LOG(kInfo) << "received " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << "; shutting down";
    stop.request_stop();
  });

  auto config = ember::kube::LoadDefaultConfig(flags.GetOr("kubeconfig", ""));
  if (!config.ok()) {
    return Fail(1, "no Kubernetes configuration (not in a cluster, and no kubeconfig): " +
                       config.status().message());
  }
  ember::kube::SkipSystemCaBundle(*config);
  lease.lease_namespace = flags.GetOr("leader-election-namespace", DefaultLeaseNamespace(*config));
  lease.identity = DefaultIdentity();
  auto client_or = ember::kube::Client::FromConfig(*config);
  if (!client_or.ok()) return Fail(1, client_or.status().message());
  std::unique_ptr<ember::kube::Client> client = std::move(*client_or);
  ember::sparkapp::OperatorMetrics metrics;
  client->SetObserver(&metrics);
  if (Status st = CheckApi(client.get(), startup_timeout, stop.get_token()); !st.ok()) {
    return Fail(1, st.message());
  }

  ember::kube::EventRecorder recorder(client.get(), "ember-operator");
  ember::kube::EventQueue events(&recorder);
  ember::sparkapp::Controller controller(client.get(), &events, &metrics, options);
  metrics.SetSources(
      {[&] { return controller.ApplicationsByState(); }, [&] { return controller.QueueDepth(); },
       [&] { return controller.WatchStats(); },
       [&] {
         return std::vector<uint64_t>{events.sent(), events.failed(), events.dropped()};
       }});
  using ember::HttpReply;
  using ember::HttpServer;
  std::unique_ptr<HttpServer> metrics_server;
  if (metrics_port >= 0) {
    auto server = HttpServer::Start(
        bind, metrics_port,
        ember::ServeExactPaths({{"/metrics", [&] {
            return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", metrics.Scrape()};
          }}}));
    if (!server.ok()) return Fail(1, server.status().message());
    metrics_server = std::move(*server);
  }
  std::unique_ptr<HttpServer> health_server;
  if (health_port >= 0) {
    auto server =
        HttpServer::Start(bind, health_port,
                          ember::ServeExactPaths({{"/healthz",
                            [] {
                              return HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
                            }},
                           {"/readyz", [&] {
                              const bool ready = controller.Synced();
                              return HttpReply{ready ? 200 : 503, "text/plain; charset=utf-8",
                                               ready ? "ok\n" : "caches not synced yet\n"};
                            }}}));
    if (!server.ok()) return Fail(1, server.status().message());
    health_server = std::move(*server);
  }
  controller.StartInformers();
  EMBER_LOG(kInfo) << "ember-operator " << EMBER_VERSION << " watching "
                   << (options.namespaces.empty() ? std::string("all namespaces")
                                                  : flags.GetOr("namespaces", ""))
                   << " on " << config->server << "; metrics on " << bind << ":" << metrics_port
                   << ", probes on " << health_port;

  // Leading: wait for the caches, then reconcile until told to stop. The
  // workers are stopped before this returns, so nothing is written after
  // the lease is released.
  auto lead = [&](std::stop_token leading) {
    while (!controller.WaitForSync(std::chrono::milliseconds(200))) {
      if (leading.stop_requested()) return;
    }
    metrics.SetLeader(true);
    controller.StartWorkers();
    EMBER_LOG(kInfo) << "reconciling with " << options.workers << " workers";
    WaitForStop(leading);
    controller.Stop();
    metrics.SetLeader(false);
  };
  int rc = 0;
  if (leader_elect) {
    ember::kube::LeaderCallbacks callbacks;
    callbacks.on_started_leading = lead;
    callbacks.on_new_leader = [](const std::string& who) {
      EMBER_LOG(kInfo) << "leader is now " << (who.empty() ? "(none)" : who);
    };
    auto elector = ember::kube::LeaderElector::Create(client.get(), lease, callbacks);
    if (!elector.ok()) return Fail(kUsageError, elector.status().message());
    EMBER_LOG(kInfo) << "campaigning for lease " << lease.lease_namespace << "/" << lease.lease_name
                     << " as " << lease.identity;
    (*elector)->Run(stop.get_token());
    if (!stop.stop_requested()) {
      EMBER_LOG(kError) << "lost the leader lease; exiting so that a fresh process campaigns again";
      rc = 1;
    }
  } else {
    lead(stop.get_token());
  }
  controller.Stop();
  events.Stop();
  EMBER_LOG(kInfo) << "stopped";
  return rc;
}
