#include "runtime/cli/driver_command.h"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <random>

#include "common/flags.h"
#include "runtime/conf/conf.h"
#include "runtime/driver/driver.h"
#include "runtime/transport/auth.h"

namespace ember::cli {
namespace {

constexpr int kUsageError = 2;
constexpr int kMaxPort = 65535;

std::string GenerateAppId() {
  std::random_device rd;
  char id[64];
  std::snprintf(id, sizeof(id), "ember-%lld-%04x",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count()),
                static_cast<unsigned>(rd() & 0xffff));
  return id;
}

Result<DriverOptions> BuildOptions(DriverFlavor flavor, const FlagParser& flags) {
  DriverOptions o;
  o.program = flavor == DriverFlavor::kSubmit ? "ember-submit" : "ember-driver";
  ASSIGN_OR_RETURN(o.master, ParseMaster(flags.GetOr("master", "local[*]")));
  const auto& pos = flags.positional();
  if (auto app = flags.Get("app")) {
    o.app_path = *app;
    o.app_args = pos;
  } else if (!pos.empty()) {
    o.app_path = pos[0];
    o.app_args.assign(pos.begin() + 1, pos.end());
  } else {
    return InvalidArgumentError("no application library given (see --help)");
  }
  o.entry_point = flags.GetOr("class", "");
  for (char c : o.entry_point) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return InvalidArgumentError("invalid --class '" + o.entry_point +
                                  "': an entry point name is letters, digits and '_'");
    }
  }
  o.termination_log = flags.GetOr("termination-log", "");
  o.app_id = flags.GetOr("app-id", GenerateAppId());
  o.app_name = flags.GetOr("name", o.app_path);
  for (const std::string& kv : flags.GetAll("conf")) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("invalid --conf '" + kv + "': expected KEY=VALUE");
    }
    o.conf[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // A typo in a key is a bad command line, reported before anything starts.
  RETURN_IF_ERROR(conf::Parse(o.conf).status());
  if (auto v = flags.Get("driver-memory")) {
    ASSIGN_OR_RETURN(o.driver_memory, ParseMemory(*v));
  }
  if (auto v = flags.Get("executor-memory")) {
    ASSIGN_OR_RETURN(o.executor_memory, ParseMemory(*v));
  }
  o.bind_address = flags.GetOr("bind-address", "127.0.0.1");
  if (auto v = flags.Get("port")) {
    ASSIGN_OR_RETURN(int64_t port, ParseIntFlag("port", *v, 0, kMaxPort));
    o.port = static_cast<int>(port);
  }
  if (auto v = flags.Get("metrics-port")) {
    ASSIGN_OR_RETURN(int64_t port, ParseIntFlag("metrics-port", *v, -1, kMaxPort));
    o.metrics_port = static_cast<int>(port);
  }
  if (auto v = flags.Get("ui-port")) {
    ASSIGN_OR_RETURN(int64_t port, ParseIntFlag("ui-port", *v, -1, kMaxPort));
    o.ui_port = static_cast<int>(port);
  }
  o.ui_bind_address = flags.GetOr("ui-bind-address", o.bind_address);
  if (o.master.kind != Master::Kind::kLocal) {
    auto secret = transport::LoadSecret(flags.GetOr("secret", ""), flags.GetOr("secret-file", ""));
    if (secret.ok()) {
      o.secret = *secret;
    } else if (flavor == DriverFlavor::kSubmit && o.master.kind == Master::Kind::kLocalCluster &&
               !flags.IsSet("secret") && !flags.IsSet("secret-file")) {
      // Executors this process starts itself get a fresh secret.
      o.secret = transport::GenerateSecret();
    } else {
      return secret.status();
    }
  }
  o.local_dir = flags.GetOr("local-dir", "");
  o.executor_binary = flags.GetOr("executor-binary", "");
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  o.progress = !flags.IsSet("no-progress") &&
               (flags.IsSet("progress") || (flavor == DriverFlavor::kSubmit && tty));
  return o;
}

}  // namespace

std::vector<FlagSpec> DriverFlags() {
  return {
      {"master", "MASTER", "local, local[N], local[*], local-cluster[E,C] or external[E]"},
      {"name", "NAME", "application name"},
      {"conf", "KEY=VALUE", "configuration property (repeatable)", true},
      {"driver-memory", "SIZE",
       "driver memory, e.g. 1g (local[N]: 60% is the tasks' memory budget)"},
      {"executor-memory", "SIZE", "memory per executor, e.g. 2g (60% is its tasks' memory budget)"},
      {"app", "FILE", "application library (instead of the first argument)"},
      {"class", "NAME", "entry point to run (EMBER_ENTRY_POINT); default EMBER_APPLICATION"},
      {"app-id", "ID", "application id (default: generated)"},
      {"bind-address", "ADDR", "address the driver listens on (default 127.0.0.1)"},
      {"port", "PORT", "driver RPC port (default: any free port)"},
      {"metrics-port", "PORT", "serve Prometheus /metrics on this port (default: off)"},
      {"ui-port", "PORT",
       "serve the web UI and REST API on this port, or the next free one (default 4040; -1 off)"},
      {"ui-bind-address", "ADDR", "address the web UI listens on (default: --bind-address)"},
      {"secret", "SECRET", "application secret"},
      {"secret-file", "FILE", "file holding the application secret"},
      {"local-dir", "DIR", "scratch directory for shuffle files"},
      {"executor-binary", "FILE", "ember-executor to start in local-cluster mode"},
      {"termination-log", "FILE",
       "also write the final error line here (a pod's /dev/termination-log)"},
      {"log-level", "LEVEL", "debug, info, warning, error or off"},
      {"progress", "", "show stage progress on stderr even when it is not a terminal"},
      {"no-progress", "", "never show stage progress"},
      {"version", "", "print the version and exit"},
      {"help", "", "print this help and exit"},
  };
}

int DriverMain(DriverFlavor flavor, int argc, const char* const* argv) {
  const char* program = flavor == DriverFlavor::kSubmit ? "ember-submit" : "ember-driver";
  FlagParser flags(program, "[options] APP.so [app arguments...]", DriverFlags());
  Status st = flags.Parse(argc, argv);
  if (!st.ok()) {
    std::fprintf(stderr, "%s: error: %s\n", program, st.message().c_str());
    return kUsageError;
  }
  if (flags.IsSet("help")) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (flags.IsSet("version")) {
    std::printf("%s %s\n", program, EMBER_VERSION);
    return 0;
  }
  LogLevel level = flavor == DriverFlavor::kSubmit ? LogLevel::kWarning : LogLevel::kInfo;
  if (auto v = flags.Get("log-level"); v && !ParseLogLevel(*v, &level)) {
    std::fprintf(stderr, "%s: error: invalid --log-level '%s' (debug, info, warning, error, off)\n",
                 program, v->c_str());
    return kUsageError;
  }
  SetLogLevel(level);
  auto options = BuildOptions(flavor, flags);
  if (!options.ok()) {
    std::fprintf(stderr, "%s: error: %s\n", program, options.status().message().c_str());
    return kUsageError;
  }
  options->executor_log_level = level;
  return RunDriver(*options);
}

}  // namespace ember::cli
