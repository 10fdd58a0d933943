// ember-history: the web UI and REST API for the applications whose event
// logs (ember.eventLog.dir) are in one directory, as Spark's history server.
#include <sys/stat.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "common/flags.h"
#include "common/log.h"
#include "common/signal_watcher.h"
#include "runtime/ui/history.h"

namespace {

constexpr int kUsageError = 2;

int Fail(const ember::Status& st, int rc = kUsageError) {
  std::fprintf(stderr, "ember-history: error: %s\n", st.message().c_str());
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  ember::SignalWatcher::BlockTerminationSignals();
  ember::cli::FlagParser flags(
      "ember-history", "[options] DIR",
      {
          {"port", "PORT", "port of the web UI and REST API (default 18080; 0: any free port)"},
          {"bind-address", "ADDR", "address to listen on (default 127.0.0.1)"},
          {"max-applications", "N",
           "applications whose full state stays in memory; others are read again from "
           "their logs when asked for (default 50)"},
          {"log-level", "LEVEL", "debug, info, warning, error or off"},
          {"version", "", "print the version and exit"},
          {"help", "", "print this help and exit"},
      });
  if (ember::Status st = flags.Parse(argc, argv); !st.ok()) return Fail(st);
  if (flags.IsSet("help")) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (flags.IsSet("version")) {
    std::printf("ember-history %s\n", EMBER_VERSION);
    return 0;
  }
  ember::LogLevel level = ember::LogLevel::kInfo;
  if (auto v = flags.Get("log-level"); v && !ember::ParseLogLevel(*v, &level)) {
    return Fail(ember::InvalidArgumentError("invalid --log-level '" + *v + "'"));
  }
  ember::SetLogLevel(level);
  ember::SetLogTag("history");
  if (flags.positional().size() != 1) {
    return Fail(ember::InvalidArgumentError(
        flags.positional().empty() ? "missing DIR, the event log directory"
                                   : "one DIR only; unexpected '" + flags.positional()[1] + "'"));
  }
  const std::string dir = flags.positional()[0];
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail(ember::InvalidArgumentError("DIR " + dir + " is not a directory"));
  }
  int port = 18080;
  if (auto v = flags.Get("port")) {
    auto parsed = ember::cli::ParseIntFlag("port", *v, 0, 65535);
    if (!parsed.ok()) return Fail(parsed.status());
    port = static_cast<int>(*parsed);
  }
  const std::string bind = flags.GetOr("bind-address", "127.0.0.1");
  size_t max_loaded = ember::ui::HistorySource::kDefaultMaxLoaded;
  if (auto v = flags.Get("max-applications")) {
    auto parsed = ember::cli::ParseIntFlag("max-applications", *v, 1, 1'000'000);
    if (!parsed.ok()) return Fail(parsed.status());
    max_loaded = static_cast<size_t>(*parsed);
  }
  auto source =
      std::make_shared<ember::ui::HistorySource>(dir, ember::ui::AppStore::Limits{}, max_loaded);
  auto server = ember::ui::StartUiServer(bind, port, 0, source);
  if (!server.ok()) return Fail(server.status(), 1);
  EMBER_LOG(kInfo) << "serving the event logs of " << dir << " at http://" << bind << ":"
                   << (*server)->port();
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  ember::SignalWatcher signals([&](int, int) {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return stop; });
  return 0;
}
