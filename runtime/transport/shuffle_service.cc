#include "runtime/transport/shuffle_service.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "common/log.h"
#include "common/thread_pool.h"
#include "runtime/metrics/metrics.h"
#include "runtime/proto/ember.grpc.pb.h"
#include "runtime/transport/grpc_status.h"
#include "runtime/transport/internal/rpc_util.h"

namespace ember::transport {
namespace {

// Smaller than other downloads' chunks: a reducer's inactivity timeout can
// only see whole messages, so on a slow link a message must arrive well
// within it (256 KiB take 2 s at 128 KiB/s).
constexpr size_t kChunkBytes = 256 * 1024;

// Chunks read ahead of the network per fetch: enough to keep the stream busy
// while a pool thread reads the next one, bounded so a slow peer cannot pin
// memory.
constexpr size_t kMaxQueuedChunks = 4;
// A fetch's HTTP/2 stream window: see StubFor.
constexpr int kStreamWindow = 1 << 20;
constexpr std::chrono::seconds kShutdownGrace{5};

class ShuffleServerImpl;
class FetchBlocksReactor;

// One fetch, shared by its reactor and the pool jobs that read for it. The
// reactor may be deleted while a job runs: jobs touch `reactor` only under
// mu and only while it is non-null (OnDone clears it before deleting).
//
// Write protocol: at most one write in flight; whoever finds the stream idle
// starts the next write (or the Finish) after releasing mu. Finish happens
// exactly once.
struct FetchState {
  std::mutex mu;
  FetchBlocksReactor* reactor = nullptr;  // guarded by mu
  proto::FetchBlocksRequest request;      // set before the first job
  std::unique_ptr<Segment> segment;       // touched by one job at a time
  std::deque<std::string> queue;          // guarded by mu
  uint64_t offset = 0;                    // next byte to read; by the job
  bool reading = false;                   // a job is posted or running; guarded by mu
  bool opened = false;                    // guarded by mu
  bool header_sent = false;               // guarded by mu
  bool eof = false;                       // all read, or failed; guarded by mu
  grpc::Status end_status;                // guarded by mu
  bool write_in_flight = false;           // guarded by mu
  bool consumer_gone = false;             // guarded by mu
  bool finish_called = false;             // guarded by mu
};

class FetchBlocksReactor : public grpc::ServerBidiReactor<proto::FetchBlocksRequest, proto::Chunk> {
 public:
  FetchBlocksReactor(grpc::CallbackServerContext* ctx, ShuffleServerImpl* server);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Starts the next write or the Finish, if due; releases the lock.
  void Pump(std::unique_lock<std::mutex> lock);

 private:
  // Posts a read job unless one is running or the queue is full. With mu.
  void MaybeRead(std::unique_lock<std::mutex>& lock);
  // Runs on a pool thread.
  static void ReadJob(std::shared_ptr<FetchState> state, ShuffleServerImpl* server);

  ShuffleServerImpl* const server_;
  std::shared_ptr<FetchState> state_ = std::make_shared<FetchState>();
  proto::Chunk chunk_;  // owned by the write in flight
};

class ShuffleServerImpl : public ShuffleServer, public proto::Shuffle::CallbackService {
 public:
  ShuffleServerImpl(ShuffleServerOptions options, ShuffleSource* source)
      : options_(std::move(options)), source_(source), pool_(options_.read_threads) {}
  ~ShuffleServerImpl() override { Shutdown(); }

  Status Start();
  int port() const override { return port_; }
  void Shutdown() override;

  grpc::ServerBidiReactor<proto::FetchBlocksRequest, proto::Chunk>* FetchBlocks(
      grpc::CallbackServerContext* ctx) override {
    return new FetchBlocksReactor(ctx, this);
  }

  const ShuffleServerOptions& options() const { return options_; }
  ShuffleSource* source() const { return source_; }
  ThreadPool& pool() { return pool_; }

  // Reactors and read jobs both count: the source must stay valid until the
  // last job returns.
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
  ThreadPool pool_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  int live_ = 0;            // guarded by mu_
  bool shut_down_ = false;  // guarded by mu_
};

FetchBlocksReactor::FetchBlocksReactor(grpc::CallbackServerContext* ctx, ShuffleServerImpl* server)
    : server_(server) {
  server_->AddWork();
  state_->reactor = this;
  // Nothing is read from a stranger: the request only after the secret.
  grpc::Status st = internal::CheckSecret(*ctx, server_->options().secret,
                                          server_->options().metrics, "FetchBlocks");
  if (!st.ok()) {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->eof = true;
    state_->end_status = st;
    Pump(std::move(lock));
    return;
  }
  StartRead(&state_->request);
}

void FetchBlocksReactor::OnReadDone(bool ok) {
  std::unique_lock<std::mutex> lock(state_->mu);
  if (!ok) {
    state_->eof = true;
    state_->end_status =
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the call carried no request");
  } else if (state_->request.app_id() != server_->options().app_id) {
    state_->eof = true;
    state_->end_status = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                      "shuffle data of application '" + state_->request.app_id() +
                                          "' is not served here; this executor runs '" +
                                          server_->options().app_id + "'");
  } else {
    MaybeRead(lock);
  }
  Pump(std::move(lock));
}

void FetchBlocksReactor::MaybeRead(std::unique_lock<std::mutex>& /*held*/) {
  FetchState& s = *state_;
  if (s.reading || s.eof || s.consumer_gone || s.queue.size() >= kMaxQueuedChunks) return;
  s.reading = true;
  server_->AddWork();
  ShuffleServerImpl* server = server_;
  server_->pool().Post([state = state_, server]() mutable { ReadJob(std::move(state), server); });
}

void FetchBlocksReactor::ReadJob(std::shared_ptr<FetchState> state, ShuffleServerImpl* server) {
  FetchState& s = *state;
  std::unique_lock<std::mutex> lock(s.mu);
  if (!s.opened && !s.consumer_gone) {
    const proto::FetchBlocksRequest& req = s.request;
    lock.unlock();
    grpc::Status failure;
    auto segment = server->source()->OpenSegment(req.shuffle_id(), req.map_id(), req.reduce_id());
    if (!segment.ok()) {
      failure = ToGrpcStatus(segment.status());
    } else if (req.version() != 0 && (*segment)->version() != req.version()) {
      failure = grpc::Status(grpc::StatusCode::ABORTED,
                             "the map output was rewritten since the fetch began");
    } else if (req.offset() > (*segment)->size()) {
      failure = grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                             "offset " + std::to_string(req.offset()) + " is past the end of a " +
                                 std::to_string((*segment)->size()) + "-byte segment");
    } else {
      s.segment = std::move(segment).value();
      s.offset = req.offset();
    }
    lock.lock();
    s.opened = true;
    if (!failure.ok()) {
      s.eof = true;
      s.end_status = failure;
    } else if (s.offset == s.segment->size()) {
      s.eof = true;
    }
  }
  while (!s.eof && !s.consumer_gone && s.queue.size() < kMaxQueuedChunks) {
    const uint64_t at = s.offset;
    lock.unlock();
    std::string data;
    Status st = s.segment->Read(at, kChunkBytes, &data);
    lock.lock();
    if (!st.ok()) {
      s.eof = true;
      s.end_status = ToGrpcStatus(st);
      break;
    }
    s.offset += data.size();
    if (s.offset >= s.segment->size() || data.empty()) s.eof = true;
    if (!data.empty()) s.queue.push_back(std::move(data));
  }
  s.reading = false;
  if (s.reactor != nullptr) {
    s.reactor->Pump(std::move(lock));
  } else {
    lock.unlock();
  }
  // The segment may be the last thing holding the source: it goes before
  // Shutdown can learn that no work is left.
  state.reset();
  server->RemoveWork();
}

void FetchBlocksReactor::Pump(std::unique_lock<std::mutex> lock) {
  FetchState& s = *state_;
  if (s.write_in_flight || s.finish_called) return;
  // The first chunk carries the segment's size and version, even when the
  // segment is empty.
  const bool header_due = !s.header_sent && s.opened && s.segment != nullptr;
  if (!s.consumer_gone && (!s.queue.empty() || header_due)) {
    chunk_.Clear();
    if (!s.queue.empty()) {
      chunk_.set_data(std::move(s.queue.front()));
      s.queue.pop_front();
    }
    if (!s.header_sent) {
      s.header_sent = true;
      chunk_.set_total_size(s.segment->size());
      chunk_.set_version(s.segment->version());
    }
    s.write_in_flight = true;
    MaybeRead(lock);
    lock.unlock();
    StartWrite(&chunk_);
    return;
  }
  if (!s.eof && !s.consumer_gone) return;
  s.finish_called = true;
  grpc::Status status = s.consumer_gone && !s.eof
                            ? grpc::Status(grpc::StatusCode::CANCELLED, "fetch cancelled")
                            : s.end_status;
  lock.unlock();
  Finish(status);
}

void FetchBlocksReactor::OnWriteDone(bool ok) {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->write_in_flight = false;
  if (!ok) {
    state_->consumer_gone = true;
    state_->queue.clear();
  } else {
    MaybeRead(lock);
  }
  Pump(std::move(lock));
}

void FetchBlocksReactor::OnCancel() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->consumer_gone = true;
  state_->queue.clear();
  Pump(std::move(lock));
}

void FetchBlocksReactor::OnDone() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->consumer_gone = true;
    state_->reactor = nullptr;
  }
  ShuffleServerImpl* server = server_;
  delete this;  // gRPC's callback API hands ownership back here and nowhere else
  server->RemoveWork();
}

Status ShuffleServerImpl::Start() {
  ASSIGN_OR_RETURN(
      server_, internal::StartServer("shuffle server", options_.bind_address, options_.port,
                                     options_.secret, internal::kMaxShuffleRequestBytes,
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

// ---------------------------------------------------------------- client --

std::string Describe(const SegmentRef& s) {
  return "fetching shuffle " + std::to_string(s.shuffle_id) + " map " + std::to_string(s.map_id) +
         " reduce " + std::to_string(s.reduce_id) + " from " + s.address;
}

class FetchCallImpl final
    : public FetchCall,
      public grpc::ClientBidiReactor<proto::FetchBlocksRequest, proto::Chunk> {
 public:
  FetchCallImpl(const SegmentRef& segment, FetchReceiver* receiver, const std::string& secret,
                const std::string& app_id, std::chrono::seconds deadline)
      : receiver_(receiver), what_(Describe(segment)) {
    internal::PrepareClientContext(&ctx_, secret, deadline);
    request_.set_app_id(app_id);
    request_.set_shuffle_id(segment.shuffle_id);
    request_.set_map_id(segment.map_id);
    request_.set_reduce_id(segment.reduce_id);
    request_.set_offset(segment.offset);
    request_.set_version(segment.version);
  }

  ~FetchCallImpl() override {
    ctx_.TryCancel();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
  }

  void Begin(proto::Shuffle::Stub* stub) {
    stub->async()->FetchBlocks(&ctx_, this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&chunk_);
    StartCall();
  }

  void Resume() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!paused_) {
      // OnChunk is deciding to pause right now: it will read on instead.
      resume_requested_ = true;
      return;
    }
    paused_ = false;
    lock.unlock();
    StartRead(&chunk_);
  }

  void Cancel() override { ctx_.TryCancel(); }

  void OnWriteDone(bool) override {}

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is over; OnDone brings the status
    if (!started_) {
      started_ = true;
      receiver_->OnStart(chunk_.total_size(), chunk_.version());
    }
    bool more = true;
    if (!chunk_.data().empty()) more = receiver_->OnChunk(std::move(*chunk_.mutable_data()));
    if (!more) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!resume_requested_) {
        paused_ = true;
        return;
      }
      resume_requested_ = false;
    }
    StartRead(&chunk_);
  }

  void OnDone(const grpc::Status& status) override {
    Status st = FromGrpcStatus(status);
    if (st.ok() && !started_) st = DataLossError("the fetch ended before the segment's header");
    receiver_->OnEnd(st.ok() ? st : st.WithContext(what_));
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

 private:
  FetchReceiver* const receiver_;
  const std::string what_;
  grpc::ClientContext ctx_;
  proto::FetchBlocksRequest request_;
  proto::Chunk chunk_;
  bool started_ = false;  // touched by reactions only, in order

  std::mutex mu_;
  std::condition_variable cv_;
  bool paused_ = false;            // guarded by mu_
  bool resume_requested_ = false;  // guarded by mu_
  bool done_ = false;              // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<ShuffleServer>> ShuffleServer::Start(const ShuffleServerOptions& options,
                                                            ShuffleSource* source) {
  auto server = std::make_unique<ShuffleServerImpl>(options, source);
  RETURN_IF_ERROR(server->Start());
  return std::unique_ptr<ShuffleServer>(std::move(server));
}

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
    grpc::ChannelArguments args = internal::ClientChannelArgs();
    // What gRPC receives ahead of the reader counts against the executor's
    // memory, outside the fetch buffer that ember.reducer.maxSizeInFlight
    // bounds: with window probing on, a paused fetch's stream grew to tens
    // of MB (39 MB of socket reads held under TeraSort, by heaptrack). A
    // fixed window of kStreamWindow per fetch keeps it to that times
    // ember.reducer.maxReqsInFlight, and still fills a LAN link.
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindow);
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
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

std::unique_ptr<FetchCall> ShuffleClient::Start(const SegmentRef& segment,
                                                FetchReceiver* receiver) {
  std::shared_ptr<proto::Shuffle::Stub> stub = impl_->StubFor(segment.address);
  auto call = std::make_unique<FetchCallImpl>(segment, receiver, impl_->secret, impl_->app_id,
                                              impl_->deadline);
  call->Begin(stub.get());
  return call;
}

namespace {

// Fetch()'s receiver: hands chunks to the sink as they come.
class SinkReceiver final : public FetchReceiver {
 public:
  explicit SinkReceiver(const std::function<Status(std::string_view)>& sink) : sink_(sink) {}
  void OnStart(uint64_t, uint64_t) override {}
  bool OnChunk(std::string&& data) override {
    Status st = sink_(data);
    if (st.ok()) return true;
    std::lock_guard<std::mutex> lock(mu_);
    sink_error_ = std::move(st);
    cv_.notify_all();
    return false;
  }
  void OnEnd(Status status) override {
    std::lock_guard<std::mutex> lock(mu_);
    end_ = std::move(status);
    ended_ = true;
    cv_.notify_all();
  }
  // Waits for the end, cancelling the call if the sink failed.
  Status Wait(FetchCall& call) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return ended_ || !sink_error_.ok(); });
    if (!sink_error_.ok()) {
      lock.unlock();
      call.Cancel();
      lock.lock();
      cv_.wait(lock, [this] { return ended_; });
      return sink_error_;
    }
    return end_;
  }

 private:
  const std::function<Status(std::string_view)>& sink_;
  std::mutex mu_;
  std::condition_variable cv_;
  Status sink_error_;   // guarded by mu_
  Status end_;          // guarded by mu_
  bool ended_ = false;  // guarded by mu_
};

}  // namespace

Status ShuffleClient::Fetch(const std::string& address, uint32_t shuffle_id, uint32_t map_id,
                            uint32_t reduce_id,
                            const std::function<Status(std::string_view)>& sink) {
  SinkReceiver receiver(sink);
  SegmentRef ref{address, shuffle_id, map_id, reduce_id, 0, 0};
  std::unique_ptr<FetchCall> call = Start(ref, &receiver);
  return receiver.Wait(*call);
}

}  // namespace ember::transport
