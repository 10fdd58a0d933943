#include "runtime/executor/executor_process.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/log.h"
#include "runtime/api/broadcast_cache.h"
#include "runtime/app/app_library.h"
#include "runtime/executor/executor.h"
#include "runtime/metrics/metrics.h"
#include "runtime/transport/driver_client.h"
#include "runtime/transport/shuffle_service.h"

namespace ember {
namespace {

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
    executor_.reset();
    if (shuffle_server_) shuffle_server_->Shutdown();
  }

  Status Start() {
    SetLogTag("executor-" + options_.executor_id);
    std::error_code ec;
    std::filesystem::create_directories(options_.local_dir, ec);
    if (ec) return PermissionDeniedError("local dir " + options_.local_dir + ": " + ec.message());
    ASSIGN_OR_RETURN(metrics_, Metrics::Start("executor", options_.bind_address,
                                              options_.metrics_port));
    shuffle_client_ = std::make_unique<transport::ShuffleClient>(options_.secret, options_.app_id);
    Executor::Options eo;
    eo.executor_id = options_.executor_id;
    eo.cores = options_.cores;
    eo.local_dir = options_.local_dir + "/shuffle";
    eo.shuffle_client = shuffle_client_.get();
    eo.metrics = metrics_.get();
    executor_ = std::make_unique<Executor>(eo, [this](proto::TaskStatus status) {
      proto::ExecutorMessage msg;
      *msg.mutable_task_status() = std::move(status);
      if (client_) client_->Send(std::move(msg));
    });

    transport::ShuffleServerOptions so;
    so.bind_address = options_.bind_address;
    so.port = options_.shuffle_port;
    so.secret = options_.secret;
    so.app_id = options_.app_id;
    so.metrics = metrics_.get();
    ASSIGN_OR_RETURN(shuffle_server_, transport::ShuffleServer::Start(so, &executor_->store()));

    proto::RegisterExecutor reg;
    reg.set_executor_id(options_.executor_id);
    reg.set_host(options_.advertise_host.empty() ? options_.bind_address
                                                 : options_.advertise_host);
    reg.set_shuffle_port(static_cast<uint32_t>(shuffle_server_->port()));
    reg.set_cores(options_.cores);
    reg.set_memory_bytes(options_.memory);
    reg.set_app_id(options_.app_id);
    transport::DriverClientOptions co;
    co.driver_address = options_.driver_address;
    co.secret = options_.secret;
    transport::DriverClient::Handlers handlers;
    handlers.on_message = [this](const proto::DriverMessage& msg) { OnMessage(msg); };
    handlers.on_closed = [this](const Status& st) { Finish(st, false); };
    ASSIGN_OR_RETURN(auto client, transport::DriverClient::Connect(co, reg, std::move(handlers)));
    {
      // The driver's first messages can arrive before Connect returns; the
      // threads they start wait for this.
      std::lock_guard<std::mutex> lock(mu_);
      client_ = std::move(client);
    }
    cv_.notify_all();
    internal::SetBroadcastFetcher([this](uint64_t id) { return client_->FetchBroadcast(id); });
    EMBER_LOG(kInfo) << "registering with driver " << options_.driver_address << "; shuffle on "
                     << reg.host() << ":" << reg.shuffle_port();
    return Status::Ok();
  }

  // Blocks until the driver ends the conversation.
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return finished_.has_value(); });
    return *finished_;
  }

 private:
  void OnMessage(const proto::DriverMessage& msg) {
    if (msg.has_registered()) {
      // Downloading can take a while; never on a gRPC thread.
      const proto::Registered reg = msg.registered();
      std::lock_guard<std::mutex> lock(mu_);
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
    const std::string path = options_.local_dir + "/app-" + reg.app_sha256() + ".so";
    Status st = client_->FetchApplication(options_.app_id, path, reg.app_sha256());
    if (!st.ok()) return Finish(st.WithContext("downloading the application"), false);
    auto app = AppLibrary::Load(path);
    if (!app.ok()) return Finish(app.status(), false);
    if ((*app)->sha256() != reg.app_sha256()) {
      return Finish(DataLossError("application changed on disk after download"), false);
    }
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
      msg.mutable_heartbeat()->set_sent_unix_millis(static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(
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
  std::unique_ptr<transport::DriverClient> client_;  // set once, under mu_

  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<AppLibrary> app_;                 // guarded by mu_
  std::vector<proto::TaskDescription> waiting_;     // guarded by mu_
  std::optional<Status> finished_;                  // guarded by mu_
  bool done_ = false;                               // guarded by mu_
  std::chrono::milliseconds heartbeat_interval_{10'000};
  std::thread loader_;
  std::thread heartbeat_;
};

}  // namespace

int RunExecutorProcess(const ExecutorProcessOptions& options) {
  Status st;
  {
    ExecutorProcess process(options);
    st = process.Start();
    if (st.ok()) st = process.Wait();
  }
  if (!st.ok()) {
    std::fprintf(stderr, "ember-executor: error: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace ember
