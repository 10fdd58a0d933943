// A minimal executor for transport_test: connects to the driver given on the
// command line, and proves the stream works between processes.
//
// Usage: transport_test_executor ADDRESS SECRET APP_ID EXECUTOR_ID COUNT
// After `Registered` it sends COUNT heartbeats (running_tasks = 0..COUNT-1),
// expects COUNT KillTask messages (task_id = 0..COUNT-1) and then Shutdown,
// closes the stream and exits 0. Any deviation exits non-zero with a log line.
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>

#include "common/log.h"
#include "runtime/transport/driver_client.h"

namespace {

int Run(int argc, char** argv) {
  using ember::transport::DriverClient;
  if (argc != 6) {
    EMBER_LOG(kError) << "usage: transport_test_executor ADDRESS SECRET APP_ID EXECUTOR_ID COUNT";
    return 2;
  }
  ember::SetLogTag(argv[4]);
  const uint32_t count = static_cast<uint32_t>(std::strtoul(argv[5], nullptr, 10));

  std::mutex mu;
  std::condition_variable cv;
  bool registered = false;
  bool shutdown = false;
  bool closed = false;
  std::string error;  // first deviation seen
  uint64_t next_kill = 0;

  DriverClient::Handlers handlers;
  handlers.on_message = [&](const ember::proto::DriverMessage& msg) {
    std::lock_guard<std::mutex> lock(mu);
    switch (msg.kind_case()) {
      case ember::proto::DriverMessage::kRegistered:
        registered = true;
        break;
      case ember::proto::DriverMessage::kKillTask:
        if (msg.kill_task().task_id() != next_kill && error.empty()) {
          error = "kill " + std::to_string(msg.kill_task().task_id()) + " arrived when " +
                  std::to_string(next_kill) + " was due";
        }
        ++next_kill;
        break;
      case ember::proto::DriverMessage::kShutdown:
        shutdown = true;
        break;
      default:
        if (error.empty()) error = "unexpected message " + msg.ShortDebugString();
    }
    cv.notify_all();
  };
  handlers.on_closed = [&](const ember::Status& st) {
    std::lock_guard<std::mutex> lock(mu);
    if (!st.ok() && error.empty()) error = "stream closed: " + st.ToString();
    closed = true;
    cv.notify_all();
  };

  ember::transport::DriverClientOptions options;
  options.driver_address = argv[1];
  options.secret = argv[2];
  ember::proto::RegisterExecutor reg;
  reg.set_app_id(argv[3]);
  reg.set_executor_id(argv[4]);
  reg.set_host("127.0.0.1");
  reg.set_cores(1);
  auto client = DriverClient::Connect(options, reg, handlers);
  if (!client.ok()) {
    EMBER_LOG(kError) << client.status().ToString();
    return 1;
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return registered || closed; });
    if (!registered) {
      EMBER_LOG(kError) << "not registered: " << error;
      return 1;
    }
  }
  for (uint32_t i = 0; i < count; ++i) {
    ember::proto::ExecutorMessage hb;
    hb.mutable_heartbeat()->set_running_tasks(i);
    if (!(*client)->Send(std::move(hb))) {
      EMBER_LOG(kError) << "send " << i << " refused";
      return 1;
    }
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return shutdown || closed; });
  }
  (*client)->Close();
  std::lock_guard<std::mutex> lock(mu);
  if (next_kill != count && error.empty()) {
    error = "received " + std::to_string(next_kill) + " kills of " + std::to_string(count);
  }
  if (!error.empty()) {
    EMBER_LOG(kError) << error;
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return Run(argc, argv);
}
