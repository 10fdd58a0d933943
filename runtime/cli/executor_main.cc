// ember-executor: one executor process, as an executor pod runs it.
#include <cstdio>

#include "common/duration.h"
#include "common/flags.h"
#include "common/log.h"
#include "runtime/conf/conf.h"
#include "runtime/driver/master.h"
#include "runtime/executor/executor_process.h"
#include "runtime/transport/auth.h"

namespace {

constexpr int kUsageError = 2;
constexpr int kMaxPort = 65535;
constexpr int kMaxCores = 4096;

int Fail(const ember::Status& st) {
  std::fprintf(stderr, "ember-executor: error: %s\n", st.message().c_str());
  return kUsageError;
}

}  // namespace

int main(int argc, char** argv) {
  using ember::cli::FlagSpec;
  ember::cli::FlagParser flags(
      "ember-executor", "--driver HOST:PORT --executor-id ID --app-id ID [options]",
      {
          {"driver", "HOST:PORT", "the driver's RPC address (required)"},
          {"executor-id", "ID", "this executor's id (required)"},
          {"app-id", "ID", "application id; must match the driver's (required)"},
          {"cores", "N", "task threads (default 1)"},
          {"memory", "SIZE", "memory for this executor, e.g. 2g (default 1g)"},
          {"memory-budget", "SIZE",
           "memory the tasks may fill with records before they spill to disk (default 60% of "
           "--memory)"},
          {"bind-address", "ADDR", "address to listen on (default 127.0.0.1)"},
          {"advertise-host", "HOST", "address other executors dial (default: bind address)"},
          {"shuffle-port", "PORT", "shuffle service port (default: any free port)"},
          {"advertise-shuffle-port", "PORT",
           "shuffle port other executors dial, behind a proxy or NAT (default: the bound port)"},
          {"metrics-port", "PORT", "serve Prometheus /metrics on this port (default: off)"},
          {"secret", "SECRET", "application secret"},
          {"secret-file", "FILE", "file holding the application secret"},
          {"local-dir", "DIR", "scratch directory (default: $TMPDIR/ember-executor-ID)"},
          {"registration-timeout", "DURATION",
           "keep retrying an unreachable driver this long (default 5m)"},
          {"decommission-timeout", "DURATION",
           "on SIGTERM, time for running tasks to finish (default 20s)"},
          {"termination-log", "FILE",
           "write the final error line here (a pod's /dev/termination-log)"},
          {"log-level", "LEVEL", "debug, info, warning, error or off"},
          {"help", "", "print this help and exit"},
      });
  if (ember::Status st = flags.Parse(argc, argv); !st.ok()) return Fail(st);
  if (flags.IsSet("help")) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (!flags.positional().empty()) {
    return Fail(ember::InvalidArgumentError("unexpected argument '" + flags.positional()[0] + "'"));
  }
  ember::LogLevel level = ember::LogLevel::kInfo;
  if (auto v = flags.Get("log-level"); v && !ember::ParseLogLevel(*v, &level)) {
    return Fail(ember::InvalidArgumentError("invalid --log-level '" + *v + "'"));
  }
  ember::SetLogLevel(level);

  ember::ExecutorProcessOptions o;
  for (const char* required : {"driver", "executor-id", "app-id"}) {
    if (!flags.IsSet(required)) {
      return Fail(ember::InvalidArgumentError(std::string("missing --") + required + " (or " +
                                              ember::cli::FlagParser::EnvName(required) + ")"));
    }
  }
  o.driver_address = *flags.Get("driver");
  o.executor_id = *flags.Get("executor-id");
  o.app_id = *flags.Get("app-id");
  if (auto v = flags.Get("cores")) {
    auto cores = ember::cli::ParseIntFlag("cores", *v, 1, kMaxCores);
    if (!cores.ok()) return Fail(cores.status());
    o.cores = static_cast<uint32_t>(*cores);
  }
  if (auto v = flags.Get("memory")) {
    auto memory = ember::ParseMemory(*v);
    if (!memory.ok()) return Fail(memory.status());
    o.memory = *memory;
  }
  if (auto v = flags.Get("memory-budget")) {
    // Read as the ember.memory.budget key is, since the operator passes that
    // key's value here.
    auto budget = ember::conf::ParseBytes(*v, 1);
    if (!budget.ok()) return Fail(budget.status().WithContext("--memory-budget"));
    if (*budget <= 0) {
      return Fail(
          ember::InvalidArgumentError("--memory-budget must be positive, got '" + *v + "'"));
    }
    if (static_cast<uint64_t>(*budget) > o.memory) {
      return Fail(ember::InvalidArgumentError("--memory-budget " + *v +
                                              " is more than the executor's --memory"));
    }
    o.memory_budget = static_cast<uint64_t>(*budget);
  }
  o.bind_address = flags.GetOr("bind-address", "127.0.0.1");
  o.advertise_host = flags.GetOr("advertise-host", "");
  if (auto v = flags.Get("shuffle-port")) {
    auto port = ember::cli::ParseIntFlag("shuffle-port", *v, 0, kMaxPort);
    if (!port.ok()) return Fail(port.status());
    o.shuffle_port = static_cast<int>(*port);
  }
  if (auto v = flags.Get("advertise-shuffle-port")) {
    auto port = ember::cli::ParseIntFlag("advertise-shuffle-port", *v, 1, kMaxPort);
    if (!port.ok()) return Fail(port.status());
    o.advertise_shuffle_port = static_cast<int>(*port);
  }
  if (auto v = flags.Get("metrics-port")) {
    auto port = ember::cli::ParseIntFlag("metrics-port", *v, -1, kMaxPort);
    if (!port.ok()) return Fail(port.status());
    o.metrics_port = static_cast<int>(*port);
  }
  for (const auto& [flag, target] : {std::pair{"registration-timeout", &o.registration_timeout},
                                     std::pair{"decommission-timeout", &o.decommission_timeout}}) {
    if (auto v = flags.Get(flag)) {
      auto d = ember::ParseDuration(*v, std::string("--") + flag);
      if (!d.ok()) return Fail(d.status());
      *target = *d;
    }
  }
  o.termination_log = flags.GetOr("termination-log", "");
  auto secret =
      ember::transport::LoadSecret(flags.GetOr("secret", ""), flags.GetOr("secret-file", ""));
  if (!secret.ok()) return Fail(secret.status());
  o.secret = *secret;
  const char* tmp = std::getenv("TMPDIR");
  o.local_dir = flags.GetOr(
      "local-dir", std::string(tmp && *tmp ? tmp : "/tmp") + "/ember-executor-" + o.executor_id);
  return ember::RunExecutorProcess(o);
}
