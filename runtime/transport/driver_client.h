// The executor's side of the driver protocol: the long-lived stream plus
// application and broadcast downloads. gRPC callback API; every call has a
// deadline.
//
// Thread-safety: all methods may be called from any thread. Close() may be
// called from inside a handler (it then does not wait); destroying the client
// from inside a handler deadlocks. Plaintext gRPC: see driver_server.h.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "ember/status.h"
#include "runtime/proto/ember.pb.h"

namespace ember::transport {

struct DriverClientOptions {
  std::string driver_address;  // host:port
  std::string secret;
  // Deadline of the long-lived stream; the stream is the executor's life.
  std::chrono::seconds stream_deadline{std::chrono::hours(24 * 7)};
  // Deadline of each download.
  std::chrono::seconds fetch_deadline{std::chrono::seconds(120)};
};

class DriverClient {
 public:
  struct Handlers {
    // Every message from the driver, in order, on a gRPC thread.
    std::function<void(const proto::DriverMessage&)> on_message;
    // The stream ended; called exactly once.
    std::function<void(const Status&)> on_closed;
  };

  virtual ~DriverClient() = default;

  // Opens the stream and sends `reg` as the first message. Does not wait for
  // the driver's reply: `Registered` (or a refusal, via on_closed) arrives on
  // the handlers.
  static Result<std::unique_ptr<DriverClient>> Connect(const DriverClientOptions& options,
                                                       const proto::RegisterExecutor& reg,
                                                       Handlers handlers);

  // Queues a message on the stream; never blocks. False once closed.
  virtual bool Send(proto::ExecutorMessage msg) = 0;

  // Downloads the application library to `dest_path` (through a new file
  // beside it, created exclusively and never through a link) and verifies
  // that its SHA-256 equals `expected_sha256` (hex). DATA_LOSS on mismatch.
  virtual Status FetchApplication(const std::string& app_id, const std::string& dest_path,
                                  const std::string& expected_sha256) = 0;

  virtual Result<std::string> FetchBroadcast(uint64_t id) = 0;

  // Half-closes the stream and waits until it is done.
  virtual void Close() = 0;
};

}  // namespace ember::transport
