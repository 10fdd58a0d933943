#include "runtime/transport/shuffle_service.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "common/log.h"
#include "runtime/metrics/metrics.h"
#include "runtime/proto/ember.grpc.pb.h"
#include "runtime/transport/grpc_status.h"
#include "runtime/transport/internal/rpc_util.h"

namespace ember::transport {
namespace {

using internal::kChunkBytes;

// Chunks read ahead of the network per fetch: enough to keep the stream busy
// while the reader thread works, bounded so a slow peer cannot pin memory.
constexpr size_t kMaxQueuedChunks = 4;
constexpr std::chrono::seconds kShutdownGrace{5};

class ShuffleServerImpl;

// State shared by a FetchBlocks reactor and the thread that reads the
// segment. ShuffleSource::ReadSegment pushes pieces synchronously, which must
// not happen on a gRPC thread (disk reads can be slow), so a reader thread
// produces into a bounded queue and the reactor drains it.
//
// Same write protocol as the driver stream: whoever finds the reactor idle
// starts the next write (or the Finish) after releasing mu; Finish happens
// exactly once, and after it nobody touches the reactor.
struct FetchState {
  std::mutex mu;
  std::condition_variable space;  // the reader waits for queue space
  std::deque<std::string> queue;  // guarded by mu
  bool write_in_flight = false;   // guarded by mu
  bool reader_done = false;       // guarded by mu
  grpc::Status reader_status;     // guarded by mu
  bool consumer_gone = false;     // the call is over; guarded by mu
  bool finish_called = false;     // guarded by mu
};

class FetchBlocksReactor : public grpc::ServerWriteReactor<proto::Chunk> {
 public:
  FetchBlocksReactor(grpc::CallbackServerContext* ctx, ShuffleServerImpl* server,
                     const proto::FetchBlocksRequest& req);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Runs on the reader thread. Takes everything it needs as arguments: the
  // reactor may be deleted while it runs, and `self` is used only under
  // state->mu while consumer_gone is false (OnDone sets it before deleting).
  static void ReadSegment(FetchBlocksReactor* self, std::shared_ptr<FetchState> state,
                          ShuffleServerImpl* server, proto::FetchBlocksRequest req);
  // Starts the next write or the Finish, if due.
  void Pump(std::unique_lock<std::mutex> lock);

  ShuffleServerImpl* const server_;
  std::shared_ptr<FetchState> state_ = std::make_shared<FetchState>();
  proto::Chunk chunk_;  // owned by the write in flight
};

class ShuffleServerImpl : public ShuffleServer, public proto::Shuffle::CallbackService {
 public:
  ShuffleServerImpl(ShuffleServerOptions options, ShuffleSource* source)
      : options_(std::move(options)), source_(source) {}
  ~ShuffleServerImpl() override { Shutdown(); }

  Status Start();
  int port() const override { return port_; }
  void Shutdown() override;

  grpc::ServerWriteReactor<proto::Chunk>* FetchBlocks(
      grpc::CallbackServerContext* ctx, const proto::FetchBlocksRequest* req) override {
    return new FetchBlocksReactor(ctx, this, *req);
  }

  const ShuffleServerOptions& options() const { return options_; }
  ShuffleSource* source() const { return source_; }

  // Reactors and reader threads both count: the source must stay valid until
  // the last reader returns.
  void AddWork() {
    std::lock_guard<std::mutex> lock(mu_);
    ++live_;
  }
  void RemoveWork() {
    std::lock_guard<std::mutex> lock(mu_);
    --live_;
    cv_.notify_all();
  }

 private:
  const ShuffleServerOptions options_;
  ShuffleSource* const source_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  int live_ = 0;            // guarded by mu_
  bool shut_down_ = false;  // guarded by mu_
};

FetchBlocksReactor::FetchBlocksReactor(grpc::CallbackServerContext* ctx, ShuffleServerImpl* server,
                                       const proto::FetchBlocksRequest& req)
    : server_(server) {
  server_->AddWork();
  grpc::Status st = internal::CheckSecret(*ctx, server_->options().secret,
                                          server_->options().metrics, "FetchBlocks");
  if (st.ok() && req.app_id() != server_->options().app_id) {
    st = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "shuffle data of application '" + req.app_id() +
                          "' is not served here; this executor runs '" + server_->options().app_id +
                          "'");
  }
  if (!st.ok()) {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->reader_done = true;
    state_->reader_status = st;
    Pump(std::move(lock));
    return;
  }
  server_->AddWork();
  std::thread(&FetchBlocksReactor::ReadSegment, this, state_, server_, req).detach();
}

void FetchBlocksReactor::ReadSegment(FetchBlocksReactor* self, std::shared_ptr<FetchState> state,
                                     ShuffleServerImpl* server, proto::FetchBlocksRequest req) {
  auto sink = [&](std::string_view piece) -> Status {
    std::unique_lock<std::mutex> lock(state->mu);
    state->space.wait(
        lock, [&] { return state->queue.size() < kMaxQueuedChunks || state->consumer_gone; });
    if (state->consumer_gone) return CancelledError("fetcher went away");
    state->queue.emplace_back(piece);
    self->Pump(std::move(lock));
    return Status::Ok();
  };
  Status st = server->source()->ReadSegment(req.shuffle_id(), req.map_id(), req.reduce_id(),
                                            kChunkBytes, sink);
  {
    std::unique_lock<std::mutex> lock(state->mu);
    state->reader_done = true;
    state->reader_status = ToGrpcStatus(st);
    if (!state->consumer_gone) self->Pump(std::move(lock));
  }
  server->RemoveWork();
}

void FetchBlocksReactor::Pump(std::unique_lock<std::mutex> lock) {
  FetchState& s = *state_;
  if (s.write_in_flight || s.finish_called) return;
  if (!s.consumer_gone && !s.queue.empty()) {
    chunk_.set_data(std::move(s.queue.front()));
    s.queue.pop_front();
    s.space.notify_all();
    s.write_in_flight = true;
    lock.unlock();
    StartWrite(&chunk_);
    return;
  }
  if (!s.reader_done && !s.consumer_gone) return;
  s.finish_called = true;
  grpc::Status status = s.consumer_gone && !s.reader_done
                            ? grpc::Status(grpc::StatusCode::CANCELLED, "fetch cancelled")
                            : s.reader_status;
  lock.unlock();
  Finish(status);
}

void FetchBlocksReactor::OnWriteDone(bool ok) {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->write_in_flight = false;
  if (!ok) {
    state_->consumer_gone = true;
    state_->queue.clear();
    state_->space.notify_all();
  }
  Pump(std::move(lock));
}

void FetchBlocksReactor::OnCancel() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->consumer_gone = true;
  state_->queue.clear();
  state_->space.notify_all();
  Pump(std::move(lock));
}

void FetchBlocksReactor::OnDone() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->consumer_gone = true;
    state_->space.notify_all();
  }
  ShuffleServerImpl* server = server_;
  delete this;  // gRPC's callback API hands ownership back here and nowhere else
  server->RemoveWork();
}

Status ShuffleServerImpl::Start() {
  ASSIGN_OR_RETURN(
      server_,
      internal::StartServer("shuffle server", options_.bind_address, options_.port, options_.secret,
                            static_cast<proto::Shuffle::CallbackService*>(this), &port_));
  return Status::Ok();
}

void ShuffleServerImpl::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_ || server_ == nullptr) return;
    shut_down_ = true;
  }
  server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return live_ == 0; });
}

}  // namespace

Result<std::unique_ptr<ShuffleServer>> ShuffleServer::Start(const ShuffleServerOptions& options,
                                                            ShuffleSource* source) {
  auto server = std::make_unique<ShuffleServerImpl>(options, source);
  RETURN_IF_ERROR(server->Start());
  return std::unique_ptr<ShuffleServer>(std::move(server));
}

// ---------------------------------------------------------------- client --

struct ShuffleClient::Impl {
  std::string secret;
  std::string app_id;
  std::chrono::seconds deadline;

  std::mutex mu;
  // Stubs are thread-safe and each owns its channel; one per peer keeps one
  // HTTP/2 connection per executor pair.
  std::map<std::string, std::shared_ptr<proto::Shuffle::Stub>> stubs;  // guarded by mu

  std::shared_ptr<proto::Shuffle::Stub> StubFor(const std::string& address) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = stubs.find(address);
    if (it != stubs.end()) return it->second;
    // The shared secret is the authentication; TLS is future work.
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                             internal::ClientChannelArgs());
    std::shared_ptr<proto::Shuffle::Stub> stub = proto::Shuffle::NewStub(channel);
    stubs.emplace(address, stub);
    return stub;
  }
};

ShuffleClient::ShuffleClient(std::string secret, std::string app_id, std::chrono::seconds deadline)
    : impl_(std::make_unique<Impl>()) {
  impl_->secret = std::move(secret);
  impl_->app_id = std::move(app_id);
  impl_->deadline = deadline;
}

ShuffleClient::~ShuffleClient() = default;

Status ShuffleClient::Fetch(const std::string& address, uint32_t shuffle_id, uint32_t map_id,
                            uint32_t reduce_id,
                            const std::function<Status(std::string_view)>& sink) {
  std::shared_ptr<proto::Shuffle::Stub> stub = impl_->StubFor(address);
  internal::ChunkReader reader(
      [&sink](const proto::Chunk& chunk) -> Status { return sink(chunk.data()); });
  internal::PrepareClientContext(reader.ctx(), impl_->secret, impl_->deadline);
  proto::FetchBlocksRequest req;
  req.set_app_id(impl_->app_id);
  req.set_shuffle_id(shuffle_id);
  req.set_map_id(map_id);
  req.set_reduce_id(reduce_id);
  stub->async()->FetchBlocks(reader.ctx(), &req, &reader);
  reader.Start();
  return reader.Wait().WithContext("fetching shuffle " + std::to_string(shuffle_id) + " map " +
                                   std::to_string(map_id) + " reduce " + std::to_string(reduce_id) +
                                   " from " + address);
}

}  // namespace ember::transport
