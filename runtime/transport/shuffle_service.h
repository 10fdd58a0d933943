// Shuffle blocks between executors: a server that streams a map task's
// segment for one reducer in chunks, and the client that fetches them.
//
// The server reads each segment on a helper thread into a small bounded queue,
// so slow disks never stall gRPC threads and a slow peer cannot pin memory.
// Every fetch carries the application secret ("x-ember-secret") and the
// application id; plaintext gRPC, see driver_server.h.
//
// Thread-safety: all methods may be called from any thread. ReadSegment is
// called from helper threads, possibly several at once; the ShuffleSource
// must outlive the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ember {
class Metrics;
}

namespace ember::transport {

// Where the server finds shuffle data; implemented by the executor's
// shuffle store (runtime/shuffle).
class ShuffleSource {
 public:
  virtual ~ShuffleSource() = default;
  // Calls `sink` with consecutive pieces of the segment's bytes (at most
  // `chunk_bytes` each). NOT_FOUND when there is no such output.
  virtual Status ReadSegment(uint32_t shuffle_id, uint32_t map_id, uint32_t reduce_id,
                             size_t chunk_bytes,
                             const std::function<Status(std::string_view)>& sink) = 0;
};

struct ShuffleServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;
  std::string secret;
  std::string app_id;
  // Counts refused calls in auth_failures_total when set; not owned, must
  // outlive the server.
  ember::Metrics* metrics = nullptr;
};

class ShuffleServer {
 public:
  virtual ~ShuffleServer() = default;
  static Result<std::unique_ptr<ShuffleServer>> Start(const ShuffleServerOptions& options,
                                                      ShuffleSource* source);
  virtual int port() const = 0;
  virtual void Shutdown() = 0;
};

// Fetches segments from other executors; keeps one channel per address.
class ShuffleClient {
 public:
  ShuffleClient(std::string secret, std::string app_id,
                std::chrono::seconds deadline = std::chrono::seconds(120));
  ~ShuffleClient();
  // Streams the segment's bytes to `sink` in order, chunk by chunk, blocking
  // the caller until the fetch ends. A non-OK return from `sink` cancels the
  // fetch and is returned. Errors name the peer, e.g. "fetching shuffle 1 map
  // 3 reduce 0 from 10.0.0.5:7337: ...".
  // UNAVAILABLE / NOT_FOUND / UNAUTHENTICATED come back as they are.
  Status Fetch(const std::string& address, uint32_t shuffle_id, uint32_t map_id,
               uint32_t reduce_id, const std::function<Status(std::string_view)>& sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember::transport
