#include "runtime/executor/executor_process.h"

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/signal_watcher.h"
#include "runtime/api/broadcast_cache.h"
#include "runtime/app/app_library.h"
#include "runtime/conf/conf.h"
#include "runtime/executor/executor.h"
#include "runtime/metrics/metrics.h"
#include "runtime/transport/driver_client.h"
#include "runtime/transport/shuffle_service.h"

namespace ember {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kFirstRetry{200};
constexpr std::chrono::milliseconds kMaxRetry{5000};

// A driver that is not up yet, or not resolvable yet, is worth waiting for;
// a driver that answers and refuses us is not.
bool Retryable(const Status& st) {
  return st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kDeadlineExceeded;
}

FetchOptions FetchOptionsFrom(const conf::Settings& s) {
  FetchOptions o;
  o.max_retries = static_cast<uint32_t>(s.GetOr("ember.shuffle.io.maxRetries", o.max_retries));
  o.retry_wait =
      std::chrono::milliseconds(s.GetOr("ember.shuffle.io.retryWaitMs", o.retry_wait.count()));
  o.idle_timeout =
      std::chrono::milliseconds(s.GetOr("ember.shuffle.io.idleTimeoutMs", o.idle_timeout.count()));
  o.max_bytes_in_flight = static_cast<uint64_t>(
      s.GetOr("ember.reducer.maxSizeInFlight", static_cast<int64_t>(o.max_bytes_in_flight)));
  o.max_requests_in_flight =
      static_cast<uint32_t>(s.GetOr("ember.reducer.maxReqsInFlight", o.max_requests_in_flight));
  return o;
}

class ExecutorProcess {
 public:
  explicit ExecutorProcess(const ExecutorProcessOptions& options) : options_(options) {}

  ~ExecutorProcess() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (heartbeat_.joinable()) heartbeat_.join();
    if (loader_.joinable()) loader_.join();
    if (client_) client_->Close();
    // The shuffle server reads the executor's store: it stops first.
    if (shuffle_server_) shuffle_server_->Shutdown();
    // Whatever ended the process (a driver gone, a shutdown, a stop that
    // already drained), nothing will use what still-running tasks make: they
    // stop at their next check instead of holding the exit until they end.
    if (executor_)
      (void)executor_->Drain(std::chrono::milliseconds(0),
                             "executor " + options_.executor_id + " is ending");
    executor_.reset();
    // The library stays mapped; its file is no longer needed.
    if (!app_dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(app_dir_, ec);
    }
  }

  Status Start() {
    SetLogTag("executor-" + options_.executor_id);
    std::error_code ec;
    std::filesystem::create_directories(options_.local_dir, ec);
    if (ec) return PermissionDeniedError("local dir " + options_.local_dir + ": " + ec.message());
    ASSIGN_OR_RETURN(metrics_,
                     Metrics::Start("executor", options_.bind_address, options_.metrics_port));
    shuffle_client_ = std::make_unique<transport::ShuffleClient>(options_.secret, options_.app_id);
    Executor::Options eo;
    eo.executor_id = options_.executor_id;
    eo.cores = options_.cores;
    eo.local_dir = options_.local_dir + "/shuffle";
    eo.shuffle_client = shuffle_client_.get();
    eo.metrics = metrics_.get();
    eo.memory_budget =
        options_.memory_budget > 0 ? options_.memory_budget : DefaultMemoryBudget(options_.memory);
    eo.can_commit = [this](uint64_t task_id, std::string* reason) {
      return CanCommit(task_id, reason);
    };
    executor_ = std::make_unique<Executor>(eo, [this](proto::TaskStatus status) {
      proto::ExecutorMessage msg;
      *msg.mutable_task_status() = std::move(status);
      Send(std::move(msg));
    });

    transport::ShuffleServerOptions so;
    so.bind_address = options_.bind_address;
    so.port = options_.shuffle_port;
    so.secret = options_.secret;
    so.app_id = options_.app_id;
    so.metrics = metrics_.get();
    ASSIGN_OR_RETURN(shuffle_server_, transport::ShuffleServer::Start(so, &executor_->store()));
    return Register();
  }

  // Blocks until the driver ends the conversation.
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return finished_.has_value(); });
    return *finished_;
  }

  // SIGTERM: see executor_process.h.
  void Stop(const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      if (!registered_) {
        // Nothing runs yet: stop connecting and leave.
        EMBER_LOG(kInfo) << "stopping (" << reason << ") before registering with the driver";
        finished_ = Status::Ok();
        cv_.notify_all();
        return;
      }
    }
    cv_.notify_all();
    EMBER_LOG(kInfo) << "stopping (" << reason
                     << "): handing back queued tasks, giving running ones "
                     << options_.decommission_timeout.count() / 1000 << " s";
    proto::ExecutorMessage stopping;
    stopping.mutable_stopping()->set_reason(reason);
    Send(std::move(stopping));
    const std::string why = "executor " + options_.executor_id + " stopped: " + reason;
    for (uint64_t task_id : executor_->Drain(options_.decommission_timeout, why)) {
      proto::ExecutorMessage msg;
      proto::TaskStatus* status = msg.mutable_task_status();
      status->set_task_id(task_id);
      status->set_state(proto::TaskStatus::KILLED);
      status->set_error(why + " (did not finish in time)");
      Send(std::move(msg));
    }
    Finish(Status::Ok(), true);
  }

 private:
  bool Send(proto::ExecutorMessage msg) {
    transport::DriverClient* client = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      client = client_.get();
    }
    return client != nullptr && client->Send(std::move(msg));
  }

  // Connects until the driver registers us, the timeout passes, or a stop.
  Status Register() {
    proto::RegisterExecutor reg;
    reg.set_executor_id(options_.executor_id);
    reg.set_host(options_.advertise_host.empty() ? options_.bind_address : options_.advertise_host);
    reg.set_shuffle_port(static_cast<uint32_t>(options_.advertise_shuffle_port > 0
                                                   ? options_.advertise_shuffle_port
                                                   : shuffle_server_->port()));
    reg.set_cores(options_.cores);
    reg.set_memory_bytes(options_.memory);
    reg.set_app_id(options_.app_id);
    transport::DriverClientOptions co;
    co.driver_address = options_.driver_address;
    co.secret = options_.secret;

    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + options_.registration_timeout;
    std::mt19937_64 rng{std::random_device{}()};
    std::chrono::milliseconds delay = kFirstRetry;
    for (int attempt = 1;; ++attempt) {
      transport::DriverClient::Handlers handlers;
      handlers.on_message = [this](const proto::DriverMessage& msg) { OnMessage(msg); };
      handlers.on_closed = [this](const Status& st) { OnClosed(st); };
      EMBER_LOG(kInfo) << "registering with driver " << options_.driver_address << "; shuffle on "
                       << reg.host() << ":" << reg.shuffle_port();
      ASSIGN_OR_RETURN(auto client, transport::DriverClient::Connect(co, reg, std::move(handlers)));
      std::unique_lock<std::mutex> lock(mu_);
      client_ = std::move(client);
      cv_.notify_all();
      cv_.wait(lock,
               [this] { return registered_ || refused_.has_value() || finished_.has_value(); });
      if (registered_ || finished_) return Status::Ok();
      const Status why = *refused_;
      refused_.reset();
      // The dead client goes before the next one is made (outside the lock:
      // its destructor waits for its stream to finish).
      std::unique_ptr<transport::DriverClient> dead = std::move(client_);
      lock.unlock();
      dead.reset();
      const auto now = std::chrono::steady_clock::now();
      // Full jitter around the delay, so that many executors started
      // together do not knock on the driver in lock step.
      std::uniform_int_distribution<int64_t> spread(delay.count() / 2, delay.count() * 3 / 2);
      const std::chrono::milliseconds wait(spread(rng));
      if (!Retryable(why) || now + wait > deadline) {
        const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - start).count();
        return Status(why.code(), why.message())
            .WithContext("registering with the driver at " + options_.driver_address +
                         (attempt > 1 ? " (" + std::to_string(attempt) + " attempts over " +
                                            std::to_string(waited) + " s)"
                                      : ""));
      }
      if (attempt == 1) {
        EMBER_LOG(kInfo) << "driver at " << options_.driver_address << " not reachable yet ("
                         << why.message() << "); retrying for up to "
                         << options_.registration_timeout.count() / 1000 << " s";
      }
      lock.lock();
      if (cv_.wait_for(lock, wait, [this] { return finished_.has_value(); })) return Status::Ok();
      lock.unlock();
      delay = std::min(kMaxRetry, delay * 2);
    }
  }

  // Asks the driver over the stream and waits for its answer; no answer (the
  // stream broke, the driver is silent) is a no.
  bool CanCommit(uint64_t task_id, std::string* reason) {
    constexpr std::chrono::seconds kCommitAnswerWithin{60};
    uint64_t request_id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      request_id = next_commit_request_++;
      commit_answers_[request_id] = std::nullopt;
    }
    proto::ExecutorMessage msg;
    msg.mutable_commit_request()->set_request_id(request_id);
    msg.mutable_commit_request()->set_task_id(task_id);
    if (!Send(std::move(msg))) {
      *reason = "the driver is gone";
      std::lock_guard<std::mutex> lock(mu_);
      commit_answers_.erase(request_id);
      return false;
    }
    std::unique_lock<std::mutex> lock(mu_);
    const bool answered = cv_.wait_for(lock, kCommitAnswerWithin, [&] {
      return commit_answers_[request_id].has_value() || finished_.has_value();
    });
    std::optional<proto::CommitResponse> answer = std::move(commit_answers_[request_id]);
    commit_answers_.erase(request_id);
    if (!answered || !answer) {
      *reason = "no answer from the driver";
      return false;
    }
    *reason = answer->reason();
    return answer->allowed();
  }

  void OnClosed(const Status& st) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!registered_) {
        refused_ =
            st.ok() ? UnavailableError("the driver ended the stream before registering us") : st;
        cv_.notify_all();
        return;
      }
    }
    Finish(st, false);
  }

  void OnMessage(const proto::DriverMessage& msg) {
    if (msg.has_registered()) {
      // Downloading can take a while; never on a gRPC thread.
      const proto::Registered reg = msg.registered();
      // The driver validated the configuration; what it sent is used as is.
      std::map<std::string, std::string> raw(reg.conf().begin(), reg.conf().end());
      if (auto parsed = conf::Parse(raw); parsed.ok()) {
        executor_->SetFetchOptions(FetchOptionsFrom(parsed->settings));
      } else {
        EMBER_LOG(kWarning) << "ignoring the driver's configuration: " << parsed.status().message();
      }
      std::lock_guard<std::mutex> lock(mu_);
      registered_ = true;
      cv_.notify_all();
      if (loader_.joinable()) return;
      loader_ = std::thread([this, reg] { LoadApplication(reg); });
      heartbeat_interval_ = std::chrono::milliseconds(std::max<uint32_t>(
          100, reg.heartbeat_interval_ms() > 0 ? reg.heartbeat_interval_ms() : 10'000));
      heartbeat_ = std::thread([this] { Heartbeats(); });
    } else if (msg.has_launch_task()) {
      std::unique_lock<std::mutex> lock(mu_);
      if (!app_) {
        waiting_.push_back(msg.launch_task().task());
        return;
      }
      lock.unlock();
      executor_->Launch(msg.launch_task().task());
    } else if (msg.has_kill_task()) {
      executor_->Kill(msg.kill_task().task_id());
    } else if (msg.has_remove_shuffle()) {
      executor_->store().RemoveShuffle(msg.remove_shuffle().shuffle_id());
    } else if (msg.has_remove_broadcast()) {
      internal::DropBroadcast(msg.remove_broadcast().broadcast_id());
    } else if (msg.has_remove_cache()) {
      executor_->blocks().Remove(msg.remove_cache().cache_id());
    } else if (msg.has_commit_response()) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = commit_answers_.find(msg.commit_response().request_id());
      if (it != commit_answers_.end()) it->second = msg.commit_response();
      cv_.notify_all();
    } else if (msg.has_shutdown()) {
      EMBER_LOG(kInfo) << "driver asked to shut down: " << msg.shutdown().reason();
      Finish(Status::Ok(), true);
    }
  }

  // True once the client is usable; false when the conversation ended first.
  bool WaitForClient() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return client_ != nullptr || finished_.has_value() || done_; });
    return client_ != nullptr;
  }

  void LoadApplication(const proto::Registered& reg) {
    if (!WaitForClient()) return;
    // A directory of our own (mode 0700, a fresh name): nothing another
    // user or process put in the local dir is ever loaded.
    std::string dir = options_.local_dir + "/app-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
      return Finish(
          ErrnoError("creating a directory for the application in " + options_.local_dir, errno),
          false);
    }
    app_dir_ = dir;
    const std::string path = dir + "/app.so";
    Status st = client_->FetchApplication(options_.app_id, path, reg.app_sha256());
    if (!st.ok()) return Finish(st.WithContext("downloading the application"), false);
    LoadOptions load;
    load.follow_links = false;
    load.expected_sha256 = reg.app_sha256();
    auto app = AppLibrary::Load(path, reg.entry_point(), load);
    if (!app.ok()) return Finish(app.status(), false);
    internal::SetBroadcastFetcher([this](uint64_t id) { return client_->FetchBroadcast(id); });
    std::vector<proto::TaskDescription> waiting;
    {
      std::lock_guard<std::mutex> lock(mu_);
      app_ = std::move(*app);
      waiting.swap(waiting_);
    }
    EMBER_LOG(kInfo) << "application loaded (" << reg.app_size() << " bytes)";
    for (auto& task : waiting) executor_->Launch(std::move(task));
  }

  void Heartbeats() {
    if (!WaitForClient()) return;
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, heartbeat_interval_, [this] { return done_ || finished_; })) {
      proto::ExecutorMessage msg;
      msg.mutable_heartbeat()->set_sent_unix_millis(
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count()));
      msg.mutable_heartbeat()->set_running_tasks(executor_->running());
      lock.unlock();
      client_->Send(std::move(msg));
      lock.lock();
    }
  }

  void Finish(const Status& status, bool shutdown) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      // The stream ending after Shutdown is the normal way out.
      finished_ = shutdown ? Status::Ok() : status;
    }
    cv_.notify_all();
  }

  const ExecutorProcessOptions& options_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<transport::ShuffleClient> shuffle_client_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<transport::ShuffleServer> shuffle_server_;
  std::unique_ptr<transport::DriverClient> client_;  // guarded by mu_; final once registered

  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<AppLibrary> app_;              // guarded by mu_
  std::vector<proto::TaskDescription> waiting_;  // guarded by mu_
  std::optional<Status> finished_;               // guarded by mu_
  std::optional<Status> refused_;                // a stream that ended before registration
  uint64_t next_commit_request_ = 1;             // guarded by mu_
  std::map<uint64_t, std::optional<proto::CommitResponse>> commit_answers_;  // guarded by mu_
  bool registered_ = false;                                                  // guarded by mu_
  bool stopping_ = false;                                                    // guarded by mu_
  bool done_ = false;                                                        // guarded by mu_
  std::chrono::milliseconds heartbeat_interval_{10'000};
  std::string app_dir_;  // the private download directory; set by the loader
  std::thread loader_;
  std::thread heartbeat_;
};

}  // namespace

int RunExecutorProcess(const ExecutorProcessOptions& options) {
  // Before any thread starts, so that every thread inherits the mask.
  SignalWatcher::BlockTerminationSignals();
  Status st;
  {
    ExecutorProcess process(options);
    // The stop runs on a thread of its own, so that the watcher stays free
    // to take a second signal (which ends the grace at once).
    std::thread stopper;
    std::mutex stopper_mu;
    {
      SignalWatcher signals([&](int sig, int count) {
        if (count > 1) std::_Exit(128 + sig);
        std::lock_guard<std::mutex> lock(stopper_mu);
        stopper =
            std::thread([&process, sig] { process.Stop(sig == SIGTERM ? "SIGTERM" : "SIGINT"); });
      });
      st = process.Start();
      if (st.ok()) st = process.Wait();
    }
    std::lock_guard<std::mutex> lock(stopper_mu);
    if (stopper.joinable()) stopper.join();
  }
  if (!st.ok()) {
    const std::string line = "ember-executor: error: " + st.ToString();
    std::fprintf(stderr, "%s\n", line.c_str());
    WriteTerminationMessage(options.termination_log, line);
    return 1;
  }
  return 0;
}

}  // namespace ember
