#include "runtime/driver/driver.h"

#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <typeinfo>

#include "common/demangle.h"
#include "common/signal_watcher.h"
#include "ember/rdd.h"
#include "runtime/api/broadcast_cache.h"
#include "runtime/app/app_library.h"
#include "runtime/conf/conf.h"
#include "runtime/driver/progress.h"
#include "runtime/events/event_log.h"
#include "runtime/executor/executor.h"
#include "runtime/executor/memory_budget.h"
#include "runtime/metrics/metrics.h"
#include "runtime/scheduler/scheduler.h"
#include "runtime/transport/driver_server.h"
#include "runtime/ui/ui_server.h"

namespace ember {
namespace {

using namespace std::chrono_literals;

constexpr const char* kLocalExecutorId = "driver";

// A child process (a local-cluster executor) that dies with the driver.
class ChildProcess {
 public:
  static Result<std::unique_ptr<ChildProcess>> Spawn(const std::vector<std::string>& argv,
                                                     const std::vector<std::string>& extra_env) {
    // `extra_env` replaces inherited variables of the same name: a stale
    // EMBER_SECRET in the driver's environment must not reach the child.
    auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const bool replaced = std::any_of(extra_env.begin(), extra_env.end(),
                                        [&](const auto& x) { return name_of(x) == name_of(*e); });
      if (!replaced) env_strings.emplace_back(*e);
    }
    for (const auto& e : extra_env) env_strings.push_back(e);
    // Everything exec needs is prepared before fork: only async-signal-safe
    // calls may follow it in a multi-threaded process.
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return ErrnoError("starting " + argv[0], errno);
    if (pid == 0) {
      // The driver blocks its termination signals for its watcher thread;
      // the executor must get them as usual.
      SignalWatcher::UnblockAfterFork();
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::execve(args[0], args.data(), envp.data());
      ::_exit(127);
    }
    auto child = std::make_unique<ChildProcess>();
    child->pid_ = pid;
    return child;
  }

  ~ChildProcess() {
    if (pid_ <= 0 || exited_) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50 && !Poll(); ++i) std::this_thread::sleep_for(20ms);
    if (!exited_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  // True once the process has exited; then status() is its wait status.
  bool Poll() {
    if (exited_) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
    }
    return exited_;
  }
  void Kill() {
    if (!Poll()) ::kill(pid_, SIGKILL);
  }
  // Waits up to `timeout` for a voluntary exit.
  void WaitFor(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!Poll() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
  }
  std::string Describe() const {
    if (WIFEXITED(status_)) return "exited with status " + std::to_string(WEXITSTATUS(status_));
    if (WIFSIGNALED(status_)) {
      return "was killed by signal " + std::to_string(WTERMSIG(status_)) + " (" +
             ::strsignal(WTERMSIG(status_)) + ")";
    }
    return "ended";
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

class LocalBackend final : public scheduler::ExecutorBackend {
 public:
  explicit LocalBackend(Executor* executor) : executor_(executor) {}
  bool Launch(const proto::TaskDescription& task) override {
    executor_->Launch(task);
    return true;
  }
  void Kill(uint64_t task_id) override { executor_->Kill(task_id); }

 private:
  Executor* executor_;
};

class RemoteBackend final : public scheduler::ExecutorBackend {
 public:
  explicit RemoteBackend(std::shared_ptr<transport::ExecutorConnection> conn)
      : conn_(std::move(conn)) {}
  bool Launch(const proto::TaskDescription& task) override {
    proto::DriverMessage msg;
    *msg.mutable_launch_task()->mutable_task() = task;
    return conn_->Send(std::move(msg));
  }
  void Kill(uint64_t task_id) override {
    proto::DriverMessage msg;
    msg.mutable_kill_task()->set_task_id(task_id);
    conn_->Send(std::move(msg));
  }

 private:
  std::shared_ptr<transport::ExecutorConnection> conn_;
};

// What leases call when the driver program drops the last RDD of a shuffle
// or the last handle of a broadcast. The last reference may go anywhere,
// even inside the scheduler's lock (a finished job's graph), so releasing
// happens on a thread of its own. Leases may outlive the driver (an RDD
// kept in a static): once stopped, releasing does nothing.
class Releaser {
 public:
  enum class Kind : uint8_t { kShuffle, kBroadcast, kCache };
  using Release = std::function<void(Kind kind, uint64_t id)>;
  explicit Releaser(Release release) : release_(std::move(release)), thread_([this] { Loop(); }) {}
  ~Releaser() { Stop(); }
  Releaser(const Releaser&) = delete;
  Releaser& operator=(const Releaser&) = delete;

  void Post(Kind kind, uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    queue_.emplace_back(kind, id);
    cv_.notify_one();
  }
  // Drops what is still queued; no release runs after it returns.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      queue_.clear();
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stopped_ || !queue_.empty(); });
      if (stopped_) return;
      auto [kind, id] = queue_.front();
      queue_.pop_front();
      lock.unlock();
      release_(kind, id);
      lock.lock();
    }
  }

  const Release release_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<Kind, uint64_t>> queue_;  // guarded by mu_
  bool stopped_ = false;                         // guarded by mu_
  std::thread thread_;
};

class Lease {
 public:
  Lease(std::weak_ptr<Releaser> releaser, Releaser::Kind kind, uint64_t id)
      : releaser_(std::move(releaser)), kind_(kind), id_(id) {}
  ~Lease() {
    if (auto r = releaser_.lock()) r->Post(kind_, id_);
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

 private:
  std::weak_ptr<Releaser> releaser_;
  Releaser::Kind kind_;
  uint64_t id_;
};

class Driver final : public internal::JobRunner, public transport::DriverEvents {
 public:
  explicit Driver(const DriverOptions& options) : options_(options) {}

  ~Driver() override { Stop(); }

  Status Start() {
    ASSIGN_OR_RETURN(app_, AppLibrary::Load(options_.app_path, options_.entry_point));
    ASSIGN_OR_RETURN(conf::Parsed parsed, conf::Parse(options_.conf));
    settings_ = std::move(parsed.settings);
    for (const std::string& ignored : parsed.ignored) {
      EMBER_LOG(kWarning) << "--conf " << ignored << " is ignored: Ember has no equivalent";
    }
    const int64_t max_failures = settings_.GetOr(
        "ember.task.maxFailures", options_.master.kind == Master::Kind::kLocal ? 1 : 4);
    heartbeat_interval_ms_ = settings_.GetOr("ember.executor.heartbeatIntervalMs", 10'000);
    heartbeat_timeout_ms_ = settings_.GetOr("ember.executor.heartbeatTimeoutMs", 120'000);
    registration_timeout_ms_ =
        settings_.GetOr("ember.executor.registrationTimeoutMs",
                        options_.master.kind == Master::Kind::kExternal ? 300'000 : 60'000);
    default_parallelism_ = settings_.GetOr("ember.default.parallelism", 0);
    ASSIGN_OR_RETURN(metrics_,
                     Metrics::Start("driver", options_.bind_address, options_.metrics_port));
    RETURN_IF_ERROR(StartStatusReporting());
    scheduler::Scheduler::Options so;
    so.listener = listeners_.empty() ? nullptr : &listeners_;
    so.max_task_failures = static_cast<uint32_t>(max_failures);
    so.max_result_bytes =
        static_cast<uint64_t>(settings_.GetOr("ember.driver.maxResultSize", int64_t{1} << 30));
    so.kill_grace = std::chrono::milliseconds(settings_.GetOr("ember.task.killGraceMs", 10'000));
    so.locality_wait = std::chrono::milliseconds(settings_.GetOr("ember.locality.waitMs", 3'000));
    so.max_fetch_failures =
        static_cast<uint32_t>(settings_.GetOr("ember.stage.maxConsecutiveAttempts", 4));
    so.metrics = metrics_.get();
    so.on_counted_success = [this](const proto::TaskStatus& status) {
      ApplyAccumulatorUpdates(status);
      spilled_bytes_ += status.spilled_bytes();
      spills_ += status.spills();
    };
    {
      std::lock_guard<std::mutex> lock(mu_);
      scheduler_ = std::make_unique<scheduler::Scheduler>(so);
      if (!terminated_.ok()) scheduler_->Abort(terminated_);
    }

    local_dir_ = options_.local_dir;
    if (local_dir_.empty()) {
      local_dir_ = (std::filesystem::temp_directory_path() / ("ember-" + options_.app_id)).string();
    }
    std::error_code ec;
    std::filesystem::create_directories(local_dir_, ec);
    if (ec) return PermissionDeniedError("local dir " + local_dir_ + ": " + ec.message());

    if (options_.master.kind == Master::Kind::kLocal) {
      Executor::Options eo;
      eo.executor_id = kLocalExecutorId;
      eo.cores = options_.master.threads;
      eo.local_dir = local_dir_ + "/executor-driver";
      eo.metrics = metrics_.get();
      eo.memory_budget = MemoryBudgetFor(options_.driver_memory);
      eo.can_commit = [this](uint64_t task_id, std::string* reason) {
        return scheduler_->CanCommit(kLocalExecutorId, task_id, reason);
      };
      local_executor_ = std::make_unique<Executor>(eo, [this](proto::TaskStatus status) {
        scheduler_->OnTaskStatus(kLocalExecutorId, std::move(status));
      });
      scheduler_->AddExecutor(kLocalExecutorId, "", options_.master.threads,
                              std::make_shared<LocalBackend>(local_executor_.get()));
      return Status::Ok();
    }
    return StartCluster();
  }

  int RunProgram() {
    Context ctx(this);
    if (options_.progress) {
      progress_ = std::make_unique<ProgressBar>([this] { return scheduler_->Progress(); }, stderr);
    }
    try {
      const int rc = app_->entry()(&ctx, &options_.app_args);
      progress_.reset();
      if (rc != 0) {
        EMBER_LOG(kWarning) << "application returned " << rc;
        WriteTerminationMessage(
            options_.termination_log,
            options_.program + ": the application returned " + std::to_string(rc));
      }
      return rc;
    } catch (const JobFailed& e) {
      progress_.reset();
      return Error("job failed: " + std::string(e.what()));
    } catch (const InvalidInput& e) {
      progress_.reset();
      return Error(e.what());
    } catch (const std::exception& e) {
      progress_.reset();
      return Error("application threw " + DemangledName(typeid(e)) + ": " + e.what());
    } catch (...) {
      progress_.reset();
      return Error("application threw a non-standard exception");
    }
  }

  // The event log, and the web UI's store and server. With neither, the
  // scheduler has no listener and builds no events.
  Status StartStatusReporting() {
    events::ApplicationStart start;
    start.time = events::NowMillis();
    start.app_id = options_.app_id;
    start.app_name = options_.app_name;
    if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr) start.user = pw->pw_name;
    start.master = options_.master.text;
    start.version = EMBER_VERSION;
    for (const auto& [key, value] : options_.conf) {
      start.conf.emplace_back(key, events::IsSecretKey(key) ? events::kRedacted : value);
    }
    const std::string log_dir = settings_.GetText("ember.eventLog.dir");
    if (!log_dir.empty()) {
      ASSIGN_OR_RETURN(event_log_, events::EventLogWriter::Open(log_dir, options_.app_id));
      event_log_->OnEvent(start);
      listeners_.Add(event_log_.get());
      EMBER_LOG(kInfo) << "writing the event log to " << event_log_->path();
    }
    if (options_.ui_port < 0) return Status::Ok();
    ui::AppStore::Limits limits;
    limits.retained_jobs = static_cast<size_t>(settings_.GetOr("ember.ui.retainedJobs", 1000));
    limits.retained_stages = static_cast<size_t>(settings_.GetOr("ember.ui.retainedStages", 1000));
    limits.retained_tasks = static_cast<size_t>(settings_.GetOr("ember.ui.retainedTasks", 1000));
    auto store = std::make_shared<ui::AppStore>(limits);
    store->OnEvent(start);  // before the first request can come
    auto server = ui::StartUiServer(options_.ui_bind_address, options_.ui_port,
                                    options_.ui_port == 0 ? 0 : 16,
                                    std::make_shared<ui::SingleAppSource>(store));
    if (!server.ok()) {
      // Like Spark: a UI that cannot start does not stop the application.
      EMBER_LOG(kWarning) << "no web UI: " << server.status().message();
      return Status::Ok();
    }
    ui_server_ = std::move(*server);
    app_store_ = std::move(store);
    listeners_.Add(app_store_.get());
    EMBER_LOG(kInfo) << "web UI at http://" << options_.ui_bind_address << ":"
                     << ui_server_->port();
    return Status::Ok();
  }

  // The application ended with exit status `rc`.
  void Finish(int rc) {
    if (listeners_.empty()) return;
    const std::string error =
        rc == 0 ? ""
                : (final_error_.empty() ? "the application returned " + std::to_string(rc)
                                        : final_error_);
    listeners_.OnEvent(events::ApplicationEnd{events::NowMillis(), rc == 0, error});
    if (event_log_) {
      Status st = event_log_->Close();
      if (!st.ok()) EMBER_LOG(kWarning) << "event log: " << st.message();
    }
  }

  int Error(const std::string& message) {
    final_error_ = message;
    const std::string line = options_.program + ": error: " + message;
    std::fprintf(stderr, "%s\n", line.c_str());
    WriteTerminationMessage(options_.termination_log, line);
    return 1;
  }

  // A termination signal: every job from now on fails with `why`.
  void Terminate(const Status& why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!terminated_.ok()) return;
    terminated_ = why;
    if (scheduler_) scheduler_->Abort(why);
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    releaser_->Stop();
    {
      std::lock_guard<std::mutex> lock(monitor_mu_);
      monitor_stop_ = true;
    }
    monitor_cv_.notify_all();
    if (monitor_.joinable()) monitor_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [id, conn] : connections_) {
        proto::DriverMessage msg;
        msg.mutable_shutdown()->set_reason("application finished");
        conn->Send(std::move(msg));
      }
    }
    // Executors exit on Shutdown; give them a moment before the server stops.
    for (auto& child : children_) child->WaitFor(2s);
    if (server_) server_->Shutdown();
    children_.clear();
    local_executor_.reset();
    internal::ClearBroadcasts();
    std::error_code ec;
    if (!local_dir_.empty() && options_.local_dir.empty()) {
      std::filesystem::remove_all(local_dir_, ec);
    }
  }

  // ------------------------------------------------------------ JobRunner --
  uint32_t NewNodeId() override { return next_node_id_++; }
  uint32_t NewShuffleId() override { return next_shuffle_id_++; }
  uint64_t NewBroadcastId() override { return next_broadcast_id_++; }
  uint64_t NewAccumulatorId() override { return next_accumulator_id_++; }
  void RegisterAccumulator(uint64_t id,
                           std::shared_ptr<internal::AccumulatorState> state) override {
    std::lock_guard<std::mutex> lock(accumulators_mu_);
    accumulators_[id] = std::move(state);
  }
  std::shared_ptr<const void> LeaseShuffle(uint32_t shuffle_id) override {
    return std::make_shared<const Lease>(releaser_, Releaser::Kind::kShuffle, shuffle_id);
  }
  std::shared_ptr<const void> LeaseBroadcast(uint64_t id) override {
    return std::make_shared<const Lease>(releaser_, Releaser::Kind::kBroadcast, id);
  }
  uint64_t NewCacheId() override { return next_cache_id_++; }
  std::shared_ptr<const void> LeaseCache(uint64_t cache_id) override {
    return std::make_shared<const Lease>(releaser_, Releaser::Kind::kCache, cache_id);
  }
  void Unpersist(uint64_t cache_id) override { Release(Releaser::Kind::kCache, cache_id); }
  void RegisterBroadcast(uint64_t id, std::string encoded,
                         std::shared_ptr<const void> value) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (metrics_) metrics_->broadcast_bytes->Increment(static_cast<double>(encoded.size()));
      broadcasts_[id] = std::make_shared<const std::string>(std::move(encoded));
    }
    internal::PutBroadcastValue(id, std::move(value));
  }
  Status RunJob(const std::shared_ptr<const internal::Node>& top, const internal::ResultSpec& sink,
                const std::vector<uint32_t>& partitions,
                const std::function<Status(uint32_t, std::string&&)>& on_result) override {
    const auto start = std::chrono::steady_clock::now();
    const uint64_t spilled_before = spilled_bytes_, spills_before = spills_;
    // The scheduler's job id, as the web UI shows it; "?" for a job refused
    // before it got one.
    std::string job = "?";
    Status st = scheduler_->RunJob(top, sink, partitions, on_result, [&](uint32_t id) {
      job = std::to_string(id);
      EMBER_LOG(kInfo) << "job " << job << " (" << sink.name << ") started";
    });
    if (progress_) progress_->Clear();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (st.ok()) {
      // With jobs running at once this counts their spills too: a hint of
      // memory pressure, not an exact figure per job.
      const uint64_t spills = spills_ - spills_before;
      EMBER_LOG(kInfo) << "job " << job << " (" << sink.name << ") finished in " << secs << " s"
                       << (spills == 0
                               ? std::string()
                               : "; spilled " + std::to_string(spilled_bytes_ - spilled_before) +
                                     " bytes to disk in " + std::to_string(spills) +
                                     " files (ember.memory.budget)");
    } else {
      EMBER_LOG(kInfo) << "job " << job << " (" << sink.name << ") failed: " << st.message();
    }
    return st;
  }
  uint32_t DefaultParallelism() const override {
    if (default_parallelism_ > 0) return static_cast<uint32_t>(default_parallelism_);
    return std::max<uint32_t>(1, scheduler_->total_cores());
  }
  std::string Conf(const std::string& key, const std::string& default_value) const override {
    // Known keys read back in canonical form, whichever spelling set them
    // (spark.default.parallelism answers for ember.default.parallelism).
    if (auto v = settings_.Get(key)) return std::to_string(*v);
    auto it = options_.conf.find(key);
    return it == options_.conf.end() ? default_value : it->second;
  }
  const std::string& AppId() const override { return options_.app_id; }
  const std::string& AppName() const override { return options_.app_name; }

  // --------------------------------------------------------- DriverEvents --
  Status OnRegister(const proto::RegisterExecutor& reg,
                    std::shared_ptr<transport::ExecutorConnection> conn) override {
    if (reg.executor_id().empty()) return InvalidArgumentError("executor id is empty");
    if (reg.executor_id() == kLocalExecutorId) {
      return InvalidArgumentError("executor id '" + reg.executor_id() + "' is reserved");
    }
    if (reg.cores() == 0) return InvalidArgumentError("executor reports 0 cores");
    auto backend = std::make_shared<RemoteBackend>(conn);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (connections_.count(reg.executor_id()) > 0) {
        return AlreadyExistsError("executor " + reg.executor_id() + " is already registered");
      }
      connections_[reg.executor_id()] = conn;
      backends_[reg.executor_id()] = backend;
      last_heartbeat_[reg.executor_id()] = std::chrono::steady_clock::now();
    }
    proto::DriverMessage msg;
    proto::Registered* r = msg.mutable_registered();
    r->set_app_sha256(app_->sha256());
    r->set_app_size(app_->size());
    r->set_heartbeat_interval_ms(static_cast<uint32_t>(heartbeat_interval_ms_));
    r->set_entry_point(options_.entry_point);
    for (const auto& [k, v] : options_.conf) (*r->mutable_conf())[k] = v;
    conn->Send(std::move(msg));
    scheduler_->AddExecutor(reg.executor_id(),
                            reg.host() + ":" + std::to_string(reg.shuffle_port()), reg.cores(),
                            backend);
    return Status::Ok();
  }

  void OnMessage(const std::string& executor_id, const proto::ExecutorMessage& msg) override {
    if (msg.has_task_status()) {
      Touch(executor_id);
      scheduler_->OnTaskStatus(executor_id, msg.task_status());
    } else if (msg.has_heartbeat()) {
      Touch(executor_id);
    } else if (msg.has_stopping()) {
      Touch(executor_id);
      scheduler_->Decommission(executor_id, msg.stopping().reason());
    } else if (msg.has_commit_request()) {
      Touch(executor_id);
      proto::DriverMessage reply;
      proto::CommitResponse* response = reply.mutable_commit_response();
      response->set_request_id(msg.commit_request().request_id());
      std::string reason;
      response->set_allowed(
          scheduler_->CanCommit(executor_id, msg.commit_request().task_id(), &reason));
      response->set_reason(reason);
      std::shared_ptr<transport::ExecutorConnection> conn;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = connections_.find(executor_id);
        if (it != connections_.end()) conn = it->second;
      }
      if (conn) conn->Send(std::move(reply));
    }
  }

  void OnDisconnect(const std::string& executor_id, const Status& why) override {
    std::shared_ptr<scheduler::ExecutorBackend> backend;
    {
      std::lock_guard<std::mutex> lock(mu_);
      connections_.erase(executor_id);
      last_heartbeat_.erase(executor_id);
      auto it = backends_.find(executor_id);
      if (it != backends_.end()) {
        backend = std::move(it->second);
        backends_.erase(it);
      }
    }
    // Executors leaving after the application is done are not lost.
    if (stopping_ || !backend) return;
    // Naming the backend keeps a newer executor of the same id, registered
    // meanwhile, from being removed in this one's place.
    scheduler_->RemoveExecutor(executor_id,
                               why.ok() ? Status(StatusCode::kUnavailable, "disconnected") : why,
                               backend.get());
  }

  // Nothing in the program can use the shuffle's outputs or the
  // broadcast's value again: free them here and on every executor.
  void Release(Releaser::Kind kind, uint64_t id) {
    std::vector<std::shared_ptr<transport::ExecutorConnection>> conns;
    std::shared_ptr<const std::string> dropped;  // freed outside the lock
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [executor_id, conn] : connections_) conns.push_back(conn);
      if (kind == Releaser::Kind::kBroadcast) {
        auto it = broadcasts_.find(id);
        if (it != broadcasts_.end()) {
          dropped = std::move(it->second);
          broadcasts_.erase(it);
          if (metrics_) metrics_->broadcast_bytes->Decrement(static_cast<double>(dropped->size()));
        }
      }
    }
    proto::DriverMessage msg;
    const char* what = "";
    switch (kind) {
      case Releaser::Kind::kShuffle:
        what = "shuffle ";
        if (scheduler_) scheduler_->ForgetShuffle(static_cast<uint32_t>(id));
        if (local_executor_) local_executor_->store().RemoveShuffle(static_cast<uint32_t>(id));
        msg.mutable_remove_shuffle()->set_shuffle_id(static_cast<uint32_t>(id));
        break;
      case Releaser::Kind::kBroadcast:
        what = "broadcast ";
        internal::DropBroadcast(id);
        msg.mutable_remove_broadcast()->set_broadcast_id(id);
        break;
      case Releaser::Kind::kCache:
        what = "cache ";
        if (scheduler_) scheduler_->ForgetCache(id);
        if (local_executor_) local_executor_->blocks().Remove(id);
        msg.mutable_remove_cache()->set_cache_id(id);
        break;
    }
    EMBER_LOG(kDebug) << "released " << what << id;
    for (const auto& conn : conns) conn->Send(msg);
  }

  Result<std::shared_ptr<const std::string>> GetBroadcast(uint64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = broadcasts_.find(id);
    if (it == broadcasts_.end()) {
      return NotFoundError("no broadcast variable " + std::to_string(id));
    }
    return it->second;
  }

 private:
  // A counted task's additions. An update naming no accumulator of this
  // application, or of another kind than the accumulator's, is a bad
  // message: it is logged and dropped, and the value stays as it was.
  void ApplyAccumulatorUpdates(const proto::TaskStatus& status) {
    if (status.accumulator_updates_size() == 0) return;
    std::lock_guard<std::mutex> lock(accumulators_mu_);
    for (const proto::AccumulatorUpdate& u : status.accumulator_updates()) {
      auto it = accumulators_.find(u.id());
      std::shared_ptr<internal::AccumulatorState> state =
          it == accumulators_.end() ? nullptr : it->second.lock();
      if (state == nullptr) continue;  // dropped by the program: nobody can read it
      internal::AccumulatorValue v;
      v.kind = state->kind();
      bool fits = false;
      switch (v.kind) {
        case internal::AccumulatorKind::kInt:
          fits = u.value_case() == proto::AccumulatorUpdate::kIntValue;
          v.i = u.int_value();
          break;
        case internal::AccumulatorKind::kUint:
          fits = u.value_case() == proto::AccumulatorUpdate::kUintValue;
          v.u = u.uint_value();
          break;
        case internal::AccumulatorKind::kDouble:
          fits = u.value_case() == proto::AccumulatorUpdate::kDoubleValue;
          v.d = u.double_value();
          break;
      }
      if (!fits) {
        EMBER_LOG(kWarning) << "task " << status.task_id() << " sent an update of accumulator "
                            << u.id() << " of the wrong kind; ignored";
        continue;
      }
      state->Add(v);
    }
  }

  Status StartCluster() {
    transport::DriverServerOptions so;
    so.bind_address = options_.bind_address;
    so.port = options_.port;
    so.secret = options_.secret;
    so.app_id = options_.app_id;
    so.app_path = app_->path();
    so.app_sha256 = app_->sha256();
    so.metrics = metrics_.get();
    ASSIGN_OR_RETURN(server_, transport::DriverServer::Start(so, this));
    EMBER_LOG(kInfo) << "driver listening on " << options_.bind_address << ":" << server_->port();

    const uint32_t expected = options_.master.executors;
    if (options_.master.kind == Master::Kind::kLocalCluster) RETURN_IF_ERROR(SpawnExecutors());
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(registration_timeout_ms_);
    while (scheduler_->num_executors() < expected) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!terminated_.ok()) return terminated_;
      }
      for (size_t i = 0; i < children_.size(); ++i) {
        if (children_[i]->Poll()) {
          return UnavailableError("executor process " + std::to_string(i + 1) + " " +
                                  children_[i]->Describe() + " during start-up");
        }
      }
      if (std::chrono::steady_clock::now() > deadline) {
        if (scheduler_->num_executors() > 0 && options_.master.kind == Master::Kind::kExternal) {
          EMBER_LOG(kWarning) << "continuing with " << scheduler_->num_executors() << " of "
                              << expected << " executors";
          break;
        }
        return DeadlineExceededError("only " + std::to_string(scheduler_->num_executors()) +
                                     " of " + std::to_string(expected) +
                                     " executors registered within " +
                                     std::to_string(registration_timeout_ms_ / 1000) + " s");
      }
      (void)scheduler_->WaitForExecutors(expected, 100ms);
    }
    // From here on only the monitor polls the children.
    monitor_ = std::thread([this] { Monitor(); });
    return Status::Ok();
  }

  Status SpawnExecutors() {
    std::string binary = options_.executor_binary;
    if (binary.empty()) {
      std::error_code ec;
      binary =
          (std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "ember-executor")
              .string();
    }
    if (::access(binary.c_str(), X_OK) != 0) {
      return NotFoundError("executor binary " + binary + " not found or not executable");
    }
    const char* level = "warning";
    switch (options_.executor_log_level) {
      case LogLevel::kDebug:
        level = "debug";
        break;
      case LogLevel::kInfo:
        level = "info";
        break;
      case LogLevel::kWarning:
        level = "warning";
        break;
      case LogLevel::kError:
        level = "error";
        break;
      case LogLevel::kOff:
        level = "off";
        break;
    }
    const uint64_t memory = options_.master.executor_memory_mb > 0
                                ? options_.master.executor_memory_mb << 20
                                : options_.executor_memory;
    if (MemoryBudgetFor(memory) > memory) {
      return InvalidArgumentError("ember.memory.budget " + std::to_string(MemoryBudgetFor(memory)) +
                                  " is more than the executors' memory, " + std::to_string(memory) +
                                  " bytes");
    }
    for (uint32_t i = 1; i <= options_.master.executors; ++i) {
      const std::string id = std::to_string(i);
      std::vector<std::string> argv = {
          binary,
          "--driver=127.0.0.1:" + std::to_string(server_->port()),
          "--executor-id=" + id,
          "--cores=" + std::to_string(options_.master.cores_per_executor),
          "--memory=" + std::to_string(memory),
          "--memory-budget=" + std::to_string(MemoryBudgetFor(memory)),
          "--app-id=" + options_.app_id,
          "--bind-address=127.0.0.1",
          "--shuffle-port=0",
          "--metrics-port=" + std::string(options_.metrics_port >= 0 ? "0" : "-1"),
          "--local-dir=" + local_dir_ + "/executor-" + id,
          "--log-level=" + std::string(level),
      };
      // The secret travels in the environment, never on a command line that
      // every user of the machine can read.
      ASSIGN_OR_RETURN(auto child, ChildProcess::Spawn(argv, {"EMBER_SECRET=" + options_.secret,
                                                              "EMBER_SECRET_FILE="}));
      children_.push_back(std::move(child));
    }
    return Status::Ok();
  }

  // What the tasks of a process with `memory` bytes may hold: the
  // configured ember.memory.budget, or DefaultMemoryBudget.
  uint64_t MemoryBudgetFor(uint64_t memory) const {
    const auto configured = settings_.Get("ember.memory.budget");
    return configured ? static_cast<uint64_t>(*configured) : DefaultMemoryBudget(memory);
  }

  void Touch(const std::string& executor_id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = last_heartbeat_.find(executor_id);
    if (it != last_heartbeat_.end()) it->second = std::chrono::steady_clock::now();
  }

  // Executors that stop talking are closed, which the scheduler sees as a
  // loss, like a crash. Executor processes of our own that die are reported
  // with their cause; once none is left, jobs fail at once rather than wait
  // for executors that cannot come back.
  void Monitor() {
    std::vector<bool> reported(children_.size(), false);
    bool aborted = false;
    for (;;) {
      {
        // A stop ends the wait at once: the driver's exit waits on it.
        std::unique_lock<std::mutex> lock(monitor_mu_);
        if (monitor_cv_.wait_for(lock, 200ms, [this] { return monitor_stop_; })) break;
      }
      size_t dead = 0;
      std::string causes;
      for (size_t i = 0; i < children_.size(); ++i) {
        if (!children_[i]->Poll()) continue;
        ++dead;
        const std::string cause =
            "executor process " + std::to_string(i + 1) + " " + children_[i]->Describe();
        causes += (causes.empty() ? "" : "; ") + cause;
        if (!reported[i] && !stopping_) EMBER_LOG(kWarning) << cause;
        reported[i] = true;
      }
      if (!aborted && !children_.empty() && dead == children_.size() && !stopping_) {
        aborted = true;
        scheduler_->Abort(UnavailableError("all executor processes have exited: " + causes));
      }
      std::vector<std::pair<std::string, std::shared_ptr<transport::ExecutorConnection>>> silent;
      {
        std::lock_guard<std::mutex> lock(mu_);
        const auto now = std::chrono::steady_clock::now();
        for (const auto& [id, seen] : last_heartbeat_) {
          if (now - seen > std::chrono::milliseconds(heartbeat_timeout_ms_)) {
            silent.emplace_back(id, connections_[id]);
          }
        }
      }
      for (auto& [id, conn] : silent) {
        conn->Close(DeadlineExceededError("no heartbeat for " +
                                          std::to_string(heartbeat_timeout_ms_ / 1000) + " s"));
        // A frozen process of our own that wakes up later would run and
        // serve work that was given to others; and until it exits, the
        // driver's own shutdown waits on its stream. Executor i is child i-1.
        for (size_t i = 0; i < children_.size(); ++i) {
          if (id == std::to_string(i + 1) && !children_[i]->Poll()) {
            EMBER_LOG(kWarning) << "killing executor process " << id
                                << ": it was lost and may only be frozen";
            children_[i]->Kill();
          }
        }
      }
    }
  }

  const DriverOptions& options_;
  std::unique_ptr<AppLibrary> app_;
  // Before the scheduler, which tells them of events until it is gone.
  events::ListenerList listeners_;
  std::shared_ptr<ui::AppStore> app_store_;
  std::unique_ptr<events::EventLogWriter> event_log_;
  std::unique_ptr<HttpServer> ui_server_;
  std::string final_error_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<scheduler::Scheduler> scheduler_;
  std::unique_ptr<Executor> local_executor_;
  std::unique_ptr<transport::DriverServer> server_;
  std::unique_ptr<ProgressBar> progress_;
  std::vector<std::unique_ptr<ChildProcess>> children_;
  std::string local_dir_;
  std::thread monitor_;
  std::mutex monitor_mu_;
  std::condition_variable monitor_cv_;
  bool monitor_stop_ = false;  // guarded by monitor_mu_
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<transport::ExecutorConnection>> connections_;
  std::map<std::string, std::shared_ptr<scheduler::ExecutorBackend>> backends_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_heartbeat_;
  // One copy each, shared by every download in flight.
  std::map<uint64_t, std::shared_ptr<const std::string>> broadcasts_;
  Status terminated_;  // guarded by mu_

  std::atomic<uint32_t> next_node_id_{0};
  std::atomic<uint32_t> next_shuffle_id_{0};
  std::atomic<uint64_t> next_broadcast_id_{1};
  std::atomic<uint64_t> next_accumulator_id_{1};
  std::atomic<uint64_t> next_cache_id_{1};
  // Counted successes of the application so far.
  std::atomic<uint64_t> spilled_bytes_{0};
  std::atomic<uint64_t> spills_{0};
  // Held weakly: an accumulator the program dropped takes no more updates.
  std::mutex accumulators_mu_;
  std::map<uint64_t, std::weak_ptr<internal::AccumulatorState>> accumulators_;
  conf::Settings settings_;
  std::shared_ptr<Releaser> releaser_ =
      std::make_shared<Releaser>([this](Releaser::Kind kind, uint64_t id) { Release(kind, id); });
  int64_t heartbeat_interval_ms_ = 0;
  int64_t heartbeat_timeout_ms_ = 0;
  int64_t registration_timeout_ms_ = 0;
  int64_t default_parallelism_ = 0;
};

}  // namespace

int RunDriver(const DriverOptions& options) {
  SetLogTag("driver");
  // Before any thread starts, so that every thread inherits the mask.
  SignalWatcher::BlockTerminationSignals();
  Driver driver(options);
  SignalWatcher signals([&driver](int sig, int count) {
    if (count > 1) std::_Exit(128 + sig);  // a second signal: no more grace
    const std::string name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
    EMBER_LOG(kWarning) << "received " << name << "; stopping the application";
    driver.Terminate(
        CancelledError("the driver received " + name + " (" +
                       (sig == SIGTERM ? "its pod is being deleted or evicted" : "interrupted") +
                       "); the application was stopped"));
  });
  Status st = driver.Start();
  if (!st.ok()) {
    const int rc = driver.Error(st.message());
    driver.Finish(rc);  // the UI and the event log say how it ended
    return rc;
  }
  const int rc = driver.RunProgram();
  driver.Finish(rc);
  driver.Stop();
  return rc;
}

}  // namespace ember
