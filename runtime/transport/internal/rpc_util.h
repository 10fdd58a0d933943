// Pieces shared by Ember's gRPC servers and clients: limits, channel and
// server arguments, the secret check, client context set-up, and a blocking
// reader of chunked server streams built on the callback API.
//
// Internal to runtime/transport. Thread-safety: free functions are pure or
// touch only their arguments; a ChunkReader is used by one caller thread
// plus gRPC's threads, synchronised internally.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <grpcpp/client_context.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/client_callback.h>

#include "ember/status.h"
#include "runtime/proto/ember.pb.h"
#include "runtime/transport/grpc_status.h"

namespace ember {
class Metrics;
}

namespace ember::transport::internal {

// Result bytes ride on TaskStatus and closures on LaunchTask; both can be
// large, and gRPC's 4 MiB default would cut them off. What the driver
// server accepts from an authenticated executor.
inline constexpr int kMaxMessageBytes = 256 * 1024 * 1024;
// The shuffle server receives only fetch requests, which are tiny.
inline constexpr int kMaxShuffleRequestBytes = 64 * 1024;
// Downloads move in chunks of this size: large enough to amortise per-message
// cost, small enough to keep flow control responsive.
inline constexpr size_t kChunkBytes = 1024 * 1024;

// What a stream's sender puts into one write: the next message alone, or,
// when several have queued up behind the previous write, as many as fit
// kBatchBytes wrapped in the message type's `batch`. Under load a stream
// then costs a write per batch instead of a write (and a wake-up on each
// side) per task; idle, nothing waits.
inline constexpr size_t kBatchBytes = 1024 * 1024;

template <typename Message>
void TakeNextWrite(std::deque<Message>& queue, Message* out) {
  if (queue.size() == 1 || queue.front().ByteSizeLong() >= kBatchBytes) {
    *out = std::move(queue.front());
    queue.pop_front();
    return;
  }
  out->Clear();
  auto* batch = out->mutable_batch();
  size_t bytes = 0;
  while (!queue.empty()) {
    const size_t n = queue.front().ByteSizeLong();
    if (batch->messages_size() > 0 && bytes + n > kBatchBytes) break;
    bytes += n;
    *batch->add_messages() = std::move(queue.front());
    queue.pop_front();
  }
}

// Calls `fn` with each message `msg` carries: itself, or those of its batch.
template <typename Message, typename Fn>
void ForEachMessage(const Message& msg, Fn&& fn) {
  if (msg.has_batch()) {
    for (const Message& m : msg.batch().messages()) fn(m);
  } else {
    fn(msg);
  }
}

// Arguments for every Ember client channel (message limits, keepalive).
grpc::ChannelArguments ClientChannelArgs();
// Message limits and keepalive policy for every Ember server.
void ConfigureServer(grpc::ServerBuilder* builder, int max_receive_bytes);

// Builds and starts a server for `service` on bind_address:port (0: any
// free port, reported through *bound_port). `what` names it in messages
// ("driver server"). Refuses an empty secret; warns when listening on every
// interface, since only the secret protects the plaintext transport.
// `max_receive_bytes` caps one message from a client (after it has passed
// the secret check: see ember.proto on why every call streams).
Result<std::unique_ptr<grpc::Server>> StartServer(const std::string& what,
                                                  const std::string& bind_address, int port,
                                                  const std::string& secret, int max_receive_bytes,
                                                  grpc::Service* service, int* bound_port);
// "host:port", bracketing IPv6 literals.
std::string JoinHostPort(const std::string& host, int port);

// OK when the call's "x-ember-secret" metadata equals `secret`; otherwise
// UNAUTHENTICATED, logged and counted in metrics->auth_failures_total.
grpc::Status CheckSecret(const grpc::CallbackServerContext& ctx, const std::string& secret,
                         Metrics* metrics, std::string_view rpc);

// Adds the secret metadata and the deadline every Ember call carries.
void PrepareClientContext(grpc::ClientContext* ctx, const std::string& secret,
                          std::chrono::seconds deadline);

// Sends one request and reads the stream of Chunk messages that answers it,
// for a caller that blocks until the stream is over. Usage: construct, bind
// with stub->async()->Rpc(ctx(), &reader), Start(), Wait(). `on_chunk` runs
// on a gRPC thread, one chunk at a time and in order; a non-OK return
// cancels the call and becomes the result.
template <typename Request>
class ChunkReader : public grpc::ClientBidiReactor<Request, proto::Chunk> {
 public:
  using OnChunk = std::function<Status(const proto::Chunk&)>;
  ChunkReader(Request request, OnChunk on_chunk)
      : request_(std::move(request)), on_chunk_(std::move(on_chunk)) {}

  grpc::ClientContext* ctx() { return &ctx_; }
  void Start() {
    this->StartWriteLast(&request_, grpc::WriteOptions());
    this->StartRead(&chunk_);
    this->StartCall();
  }
  // Blocks until gRPC is done with the call; the reader may then be
  // destroyed.
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    if (!local_error_.ok()) return local_error_;
    return FromGrpcStatus(status_);
  }

  void OnWriteDone(bool) override {}
  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is over; OnDone brings the status
    local_error_ = on_chunk_(chunk_);
    if (!local_error_.ok()) {
      // Stop the server rather than leave it blocked on flow control.
      ctx_.TryCancel();
      return;
    }
    this->StartRead(&chunk_);
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    done_ = true;
    cv_.notify_all();
  }

 private:
  Request request_;
  OnChunk on_chunk_;
  grpc::ClientContext ctx_;
  proto::Chunk chunk_;
  Status local_error_;  // written only by reactions, read after OnDone

  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;    // guarded by mu_
  grpc::Status status_;  // guarded by mu_
};

}  // namespace ember::transport::internal
