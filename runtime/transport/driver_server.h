// The driver's gRPC server: the executor stream, application and broadcast
// downloads. Implemented with gRPC's callback API; one reactor per RPC.
//
// Security: every RPC must carry the application secret in "x-ember-secret"
// (checked in constant time; refusals are UNAUTHENTICATED and counted in
// Metrics::auth_failures_total). The transport itself is plaintext gRPC: the
// secret authenticates peers but nothing is encrypted. TLS is future work;
// until then the default bind address is loopback, never 0.0.0.0.
//
// Thread-safety: DriverServer's methods may be called from any thread. The
// DriverEvents callbacks run on gRPC threads and must not block for long;
// callbacks for one stream are serialised, and OnDisconnect is the last one
// for its executor. The DriverEvents object must outlive the server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ember/status.h"
#include "runtime/proto/ember.pb.h"

namespace ember {
class Metrics;
}

namespace ember::transport {

// A live executor stream, as seen by the driver.
class ExecutorConnection {
 public:
  virtual ~ExecutorConnection() = default;
  // Queues a message; never blocks. Messages are delivered in order.
  // Returns false when the stream is already closed.
  virtual bool Send(proto::DriverMessage msg) = 0;
  // Ends the stream with `status` (OK for a clean shutdown).
  virtual void Close(const Status& status) = 0;
  virtual const std::string& peer() const = 0;
};

// What the driver's scheduler supplies to the server.
class DriverEvents {
 public:
  virtual ~DriverEvents() = default;
  // An authenticated executor sent `register`. Returning non-OK refuses it:
  // the stream ends with that status. On OK the connection is the
  // scheduler's to use until OnDisconnect.
  virtual Status OnRegister(const proto::RegisterExecutor& reg,
                            std::shared_ptr<ExecutorConnection> conn) = 0;
  // Any later message from a registered executor (task status, heartbeat).
  virtual void OnMessage(const std::string& executor_id, const proto::ExecutorMessage& msg) = 0;
  // The stream ended (executor exit, network error, Close()).
  virtual void OnDisconnect(const std::string& executor_id, const Status& why) = 0;
  // Encoded bytes of a broadcast variable, or NOT_FOUND. Shared, so the
  // driver holds one copy however many executors download it at once.
  virtual Result<std::shared_ptr<const std::string>> GetBroadcast(uint64_t id) = 0;
};

struct DriverServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  std::string secret;
  std::string app_id;
  std::string app_path;    // the application library served to executors
  std::string app_sha256;  // hex
  // Counts refused calls in auth_failures_total when set; not owned, must
  // outlive the server.
  ember::Metrics* metrics = nullptr;
};

class DriverServer {
 public:
  virtual ~DriverServer() = default;
  static Result<std::unique_ptr<DriverServer>> Start(const DriverServerOptions& options,
                                                     DriverEvents* events);
  // The bound port (useful when options.port was 0).
  virtual int port() const = 0;
  // Stops accepting, ends open streams with UNAVAILABLE, waits for in-flight
  // handlers. Idempotent; also run by the destructor. Must not be called
  // from a DriverEvents callback (it waits for those to return).
  virtual void Shutdown() = 0;
};

}  // namespace ember::transport
