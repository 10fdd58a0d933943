// Shuffle blocks between executors: a server that streams a map task's
// segment for one reducer in chunks, and the client that fetches them.
//
// Server. Segments are read on a small fixed pool of threads, one chunk at a
// time into a short queue per fetch, so slow disks never stall gRPC threads,
// a slow peer cannot pin memory or a thread, and a thousand fetches cost no
// more threads than one. The secret is checked before the request is read.
//
// Client. Start() opens one fetch and hands its chunks to a Receiver, which
// can pause the stream (it has buffered enough) and resume it later; gRPC's
// flow control then holds the server back. A fetch may start at an offset,
// with the version the first attempt saw, to resume after a failure.
//
// Every fetch carries the application secret ("x-ember-secret") and the
// application id; plaintext gRPC, see driver_server.h.
//
// Thread-safety: all methods may be called from any thread. A ShuffleSource
// is called from the server's pool threads, several at once, and must
// outlive the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ember/status.h"

namespace ember {
class Metrics;
}

namespace ember::transport {

// One map output's bytes for one reducer, open for reading.
class Segment {
 public:
  virtual ~Segment() = default;
  virtual uint64_t size() const = 0;
  // Differs when the map output was rewritten (never 0).
  virtual uint64_t version() const = 0;
  // Replaces *out with up to `n` bytes at `offset` (fewer only at the end).
  virtual Status Read(uint64_t offset, size_t n, std::string* out) = 0;
};

// Where the server finds shuffle data; implemented by the executor's
// shuffle store (runtime/shuffle).
class ShuffleSource {
 public:
  virtual ~ShuffleSource() = default;
  // NOT_FOUND when there is no such map output.
  virtual Result<std::unique_ptr<Segment>> OpenSegment(uint32_t shuffle_id, uint32_t map_id,
                                                       uint32_t reduce_id) = 0;
};

struct ShuffleServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;
  std::string secret;
  std::string app_id;
  // Threads reading segments for all fetches together.
  int read_threads = 4;
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
  // Stops accepting, ends open fetches and waits until no pool thread reads
  // from the source any more; after it returns the source may be freed.
  virtual void Shutdown() = 0;
};

struct SegmentRef {
  std::string address;  // host:port of the executor's shuffle server
  uint32_t shuffle_id = 0;
  uint32_t map_id = 0;
  uint32_t reduce_id = 0;
  uint64_t offset = 0;   // resume from here ...
  uint64_t version = 0;  // ... if the output is still this one (0: any)
};

// Where one fetch's chunks go. Called on gRPC threads, never two at once for
// one fetch.
class FetchReceiver {
 public:
  virtual ~FetchReceiver() = default;
  // The segment's size and version, once, before its first chunk.
  virtual void OnStart(uint64_t total_size, uint64_t version) = 0;
  // A chunk. Return false to pause the fetch until Resume().
  virtual bool OnChunk(std::string&& data) = 0;
  // Exactly once, last. Errors name the peer and the segment.
  virtual void OnEnd(Status status) = 0;
};

class FetchCall {
 public:
  // Cancels the fetch if it is still going and waits for OnEnd.
  virtual ~FetchCall() = default;
  // Reads on after OnChunk returned false; otherwise does nothing.
  virtual void Resume() = 0;
  // Ends the fetch soon; OnEnd reports CANCELLED unless it already ended.
  virtual void Cancel() = 0;
};

// Fetches segments from other executors; keeps one channel per address.
class ShuffleClient {
 public:
  ShuffleClient(std::string secret, std::string app_id,
                std::chrono::seconds deadline = std::chrono::hours(1));
  ~ShuffleClient();

  // Starts a fetch. `receiver` must outlive the returned call.
  std::unique_ptr<FetchCall> Start(const SegmentRef& segment, FetchReceiver* receiver);

  // Streams the whole segment to `sink` in order, blocking until the fetch
  // ends. A non-OK return from `sink` cancels the fetch and is returned.
  // Errors name the peer, e.g. "fetching shuffle 1 map 3 reduce 0 from
  // 10.0.0.5:7337: ..."; UNAVAILABLE / NOT_FOUND / UNAUTHENTICATED come
  // back as they are.
  Status Fetch(const std::string& address, uint32_t shuffle_id, uint32_t map_id, uint32_t reduce_id,
               const std::function<Status(std::string_view)>& sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember::transport
