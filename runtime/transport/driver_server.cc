#include "runtime/transport/driver_server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/log.h"
#include "runtime/metrics/metrics.h"
#include "runtime/proto/ember.grpc.pb.h"
#include "runtime/transport/grpc_status.h"
#include "runtime/transport/internal/rpc_util.h"

namespace ember::transport {
namespace {

using internal::kChunkBytes;

// How long Shutdown() lets open calls finish before gRPC cancels them.
constexpr std::chrono::seconds kShutdownGrace{5};

class DriverServerImpl;

// ---------------------------------------------------------------- Connect --

// One executor's stream. The reactor is gRPC's; the connection state lives in
// a separate shared object because the scheduler may hold the
// ExecutorConnection after the stream (and the reactor) is gone.
//
// Write protocol: at most one write in flight. Whoever finds the stream idle
// takes the next message under mu_ and starts the write after releasing it.
// Finish is called exactly once, only when no write is in flight, and after
// it nothing touches the reactor (OnDone may delete it at any moment).
class ConnectReactor;

class Connection : public ExecutorConnection, public std::enable_shared_from_this<Connection> {
 public:
  Connection(ConnectReactor* reactor, std::string peer)
      : reactor_(reactor), peer_(std::move(peer)) {}

  bool Send(proto::DriverMessage msg) override;
  void Close(const Status& status) override { RequestFinish(ToGrpcStatus(status)); }
  const std::string& peer() const override { return peer_; }

  // Ends the stream once queued messages are written. The first request wins.
  void RequestFinish(grpc::Status status);
  // The previous write completed.
  void OnWriteDone(bool ok);
  // The status the stream was (or will be) finished with, if we chose one.
  std::optional<grpc::Status> finish_status() {
    std::lock_guard<std::mutex> lock(mu_);
    return finish_status_;
  }

 private:
  // Starts the next write or the Finish, if due. Called without mu_ held.
  void Pump(std::unique_lock<std::mutex> lock);

  ConnectReactor* const reactor_;  // valid until finish_called_
  const std::string peer_;

  std::mutex mu_;
  std::deque<proto::DriverMessage> queue_;     // guarded by mu_
  proto::DriverMessage current_;               // owned by the write in flight
  bool write_in_flight_ = false;               // guarded by mu_
  bool broken_ = false;                        // a write failed; guarded by mu_
  std::optional<grpc::Status> finish_status_;  // guarded by mu_
  bool finish_called_ = false;                 // guarded by mu_
};

class ConnectReactor
    : public grpc::ServerBidiReactor<proto::ExecutorMessage, proto::DriverMessage> {
 public:
  ConnectReactor(grpc::CallbackServerContext* ctx, DriverServerImpl* server);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override { conn_->OnWriteDone(ok); }
  void OnCancel() override {
    conn_->RequestFinish(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
  }
  void OnDone() override;

  // For Connection: the only places the reactor's write/finish ops start.
  void DoWrite(const proto::DriverMessage* msg) { StartWrite(msg); }
  void DoFinish(const grpc::Status& status) { Finish(status); }
  const std::shared_ptr<Connection>& conn() const { return conn_; }

 private:
  void HandleRegister();

  grpc::CallbackServerContext* const ctx_;
  DriverServerImpl* const server_;
  std::shared_ptr<Connection> conn_;
  proto::ExecutorMessage in_;
  std::string executor_id_;  // set once registered; touched only by reactions in order
  bool registered_ = false;
  bool client_half_closed_ = false;
};

// ------------------------------------------------------------- downloads --

// A download: the client sends one request, then reads chunks produced on
// demand by Next. The request is read only after the secret was checked
// (Begin), so a stranger's request is never buffered. One write in flight
// at a time.
template <typename Request>
class ChunkWriter : public grpc::ServerBidiReactor<Request, proto::Chunk> {
 public:
  explicit ChunkWriter(DriverServerImpl* server);
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 protected:
  // The request arrived: prepare the download, or say why not.
  virtual grpc::Status Open(const Request& req) = 0;
  // Fills `out`; returns false when there is nothing more, with `*end` as
  // the final status.
  virtual bool Next(proto::Chunk* out, grpc::Status* end) = 0;
  // Reads the request if `auth` is OK; finishes with it otherwise.
  void Begin(const grpc::Status& auth);

 private:
  void WriteNext();
  DriverServerImpl* const server_;
  Request request_;
  proto::Chunk chunk_;
};

class FetchApplicationReactor : public ChunkWriter<proto::FetchApplicationRequest> {
 public:
  FetchApplicationReactor(grpc::CallbackServerContext* ctx, DriverServerImpl* server);
  ~FetchApplicationReactor() override {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  grpc::Status Open(const proto::FetchApplicationRequest& req) override;
  bool Next(proto::Chunk* out, grpc::Status* end) override;
  DriverServerImpl* const server_;
  int fd_ = -1;
  bool first_ = true;
  uint64_t total_ = 0;
};

class FetchBroadcastReactor : public ChunkWriter<proto::FetchBroadcastRequest> {
 public:
  FetchBroadcastReactor(grpc::CallbackServerContext* ctx, DriverServerImpl* server);

 private:
  grpc::Status Open(const proto::FetchBroadcastRequest& req) override;
  bool Next(proto::Chunk* out, grpc::Status* end) override;
  DriverServerImpl* const server_;
  // The driver's one copy, shared by every download of it.
  std::shared_ptr<const std::string> data_;
  size_t offset_ = 0;
  bool first_ = true;
};

// ---------------------------------------------------------------- server --

class DriverServerImpl : public DriverServer, public proto::Driver::CallbackService {
 public:
  DriverServerImpl(DriverServerOptions options, DriverEvents* events)
      : options_(std::move(options)), events_(events) {}
  ~DriverServerImpl() override { Shutdown(); }

  Status Start();
  int port() const override { return port_; }
  void Shutdown() override;

  grpc::ServerBidiReactor<proto::ExecutorMessage, proto::DriverMessage>* Connect(
      grpc::CallbackServerContext* ctx) override {
    return new ConnectReactor(ctx, this);
  }
  grpc::ServerBidiReactor<proto::FetchApplicationRequest, proto::Chunk>* FetchApplication(
      grpc::CallbackServerContext* ctx) override {
    return new FetchApplicationReactor(ctx, this);
  }
  grpc::ServerBidiReactor<proto::FetchBroadcastRequest, proto::Chunk>* FetchBroadcast(
      grpc::CallbackServerContext* ctx) override {
    return new FetchBroadcastReactor(ctx, this);
  }

  const DriverServerOptions& options() const { return options_; }
  DriverEvents* events() const { return events_; }
  grpc::Status Authenticate(const grpc::CallbackServerContext& ctx, std::string_view rpc) const {
    return internal::CheckSecret(ctx, options_.secret, options_.metrics, rpc);
  }

  // Book-keeping of live reactors so Shutdown can end streams and wait.
  void AddCall() {
    std::lock_guard<std::mutex> lock(mu_);
    ++live_calls_;
  }
  void RemoveCall() {
    std::lock_guard<std::mutex> lock(mu_);
    --live_calls_;
    cv_.notify_all();
  }
  void AddConnection(const std::shared_ptr<Connection>& conn) {
    std::lock_guard<std::mutex> lock(mu_);
    connections_.push_back(conn);
  }
  void RemoveConnection(const Connection* conn) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(connections_, [conn](const auto& c) { return c.get() == conn; });
  }

 private:
  const DriverServerOptions options_;
  DriverEvents* const events_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  int live_calls_ = 0;                                    // guarded by mu_
  std::vector<std::shared_ptr<Connection>> connections_;  // guarded by mu_
  bool shut_down_ = false;                                // guarded by mu_
};

// ------------------------------------------------------------ Connection --

bool Connection::Send(proto::DriverMessage msg) {
  std::unique_lock<std::mutex> lock(mu_);
  if (finish_status_.has_value() || broken_) return false;
  queue_.push_back(std::move(msg));
  Pump(std::move(lock));
  return true;
}

void Connection::RequestFinish(grpc::Status status) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!finish_status_.has_value()) finish_status_ = std::move(status);
  Pump(std::move(lock));
}

void Connection::OnWriteDone(bool ok) {
  std::unique_lock<std::mutex> lock(mu_);
  write_in_flight_ = false;
  if (!ok) {
    // The peer is gone; nothing queued can be delivered.
    broken_ = true;
    queue_.clear();
    if (!finish_status_.has_value()) {
      finish_status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "write to executor failed");
    }
  }
  Pump(std::move(lock));
}

void Connection::Pump(std::unique_lock<std::mutex> lock) {
  if (write_in_flight_ || finish_called_) return;
  if (!queue_.empty()) {
    internal::TakeNextWrite(queue_, &current_);
    write_in_flight_ = true;
    lock.unlock();
    reactor_->DoWrite(&current_);
    return;
  }
  if (!finish_status_.has_value()) return;
  finish_called_ = true;
  grpc::Status status = *finish_status_;
  // OnDone may run (and drop the reactor's reference to us) before Finish
  // returns; keep ourselves alive until we are out of this frame.
  std::shared_ptr<Connection> self = shared_from_this();
  lock.unlock();
  reactor_->DoFinish(status);
}

// -------------------------------------------------------- ConnectReactor --

ConnectReactor::ConnectReactor(grpc::CallbackServerContext* ctx, DriverServerImpl* server)
    : ctx_(ctx), server_(server), conn_(std::make_shared<Connection>(this, ctx->peer())) {
  server_->AddCall();
  grpc::Status auth = server_->Authenticate(*ctx_, "Connect");
  if (!auth.ok()) {
    conn_->RequestFinish(auth);
    return;
  }
  server_->AddConnection(conn_);
  StartRead(&in_);
}

void ConnectReactor::OnReadDone(bool ok) {
  if (!ok) {
    // The executor half-closed (Close()) or the call broke. Either way it
    // will send nothing more; flush what is queued and end the stream.
    client_half_closed_ = !ctx_->IsCancelled();
    conn_->RequestFinish(grpc::Status::OK);
    return;
  }
  if (!registered_) {
    HandleRegister();
    return;
  }
  internal::ForEachMessage(in_, [this](const proto::ExecutorMessage& msg) {
    server_->events()->OnMessage(executor_id_, msg);
  });
  StartRead(&in_);
}

void ConnectReactor::HandleRegister() {
  if (in_.kind_case() != proto::ExecutorMessage::kRegister) {
    conn_->RequestFinish(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "first message must be register"));
    return;
  }
  const proto::RegisterExecutor& reg = in_.register_();
  if (reg.app_id() != server_->options().app_id) {
    conn_->RequestFinish(
        grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                     "executor " + reg.executor_id() + " belongs to application '" + reg.app_id() +
                         "', this driver runs '" + server_->options().app_id + "'"));
    return;
  }
  Status st = server_->events()->OnRegister(reg, conn_);
  if (!st.ok()) {
    conn_->RequestFinish(ToGrpcStatus(st));
    return;
  }
  registered_ = true;
  executor_id_ = reg.executor_id();
  EMBER_LOG(kInfo) << "executor " << executor_id_ << " registered from " << conn_->peer();
  StartRead(&in_);
}

void ConnectReactor::OnDone() {
  server_->RemoveConnection(conn_.get());
  if (registered_) {
    Status why;
    std::optional<grpc::Status> chosen = conn_->finish_status();
    if (ctx_->IsCancelled() && !client_half_closed_) {
      why = UnavailableError("executor " + executor_id_ + " at " + conn_->peer() +
                             ": stream cancelled or connection lost");
    } else if (chosen.has_value()) {
      why = FromGrpcStatus(*chosen);
    }
    server_->events()->OnDisconnect(executor_id_, why);
  }
  DriverServerImpl* server = server_;
  delete this;  // gRPC's callback API hands ownership back here and nowhere else
  server->RemoveCall();
}

// ----------------------------------------------------------- ChunkWriter --

template <typename Request>
ChunkWriter<Request>::ChunkWriter(DriverServerImpl* server) : server_(server) {
  server_->AddCall();
}

template <typename Request>
void ChunkWriter<Request>::Begin(const grpc::Status& auth) {
  if (!auth.ok()) {
    this->Finish(auth);
    return;
  }
  this->StartRead(&request_);
}

template <typename Request>
void ChunkWriter<Request>::OnReadDone(bool ok) {
  if (!ok) {
    this->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the call carried no request"));
    return;
  }
  grpc::Status st = Open(request_);
  if (!st.ok()) {
    this->Finish(st);
    return;
  }
  WriteNext();
}

template <typename Request>
void ChunkWriter<Request>::WriteNext() {
  grpc::Status end;
  chunk_.Clear();
  if (!Next(&chunk_, &end)) {
    this->Finish(end);
    return;
  }
  this->StartWrite(&chunk_);
}

template <typename Request>
void ChunkWriter<Request>::OnWriteDone(bool ok) {
  if (!ok) {
    this->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write to executor failed"));
    return;
  }
  WriteNext();
}

template <typename Request>
void ChunkWriter<Request>::OnDone() {
  DriverServerImpl* server = server_;
  delete this;  // gRPC's callback API hands ownership back here and nowhere else
  server->RemoveCall();
}

// ------------------------------------------------------ FetchApplication --

FetchApplicationReactor::FetchApplicationReactor(grpc::CallbackServerContext* ctx,
                                                 DriverServerImpl* server)
    : ChunkWriter(server), server_(server) {
  Begin(server->Authenticate(*ctx, "FetchApplication"));
}

grpc::Status FetchApplicationReactor::Open(const proto::FetchApplicationRequest& req) {
  const DriverServerOptions& options = server_->options();
  if (req.app_id() != options.app_id) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "application '" + req.app_id() +
                            "' is not served here; this driver runs '" + options.app_id + "'");
  }
  if (options.app_path.empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "this driver serves no application library");
  }
  fd_ = ::open(options.app_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    return ToGrpcStatus(ErrnoError("opening application " + options.app_path, errno));
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    return ToGrpcStatus(ErrnoError("stat of application " + options.app_path, errno));
  }
  total_ = static_cast<uint64_t>(st.st_size);
  return grpc::Status::OK;
}

bool FetchApplicationReactor::Next(proto::Chunk* out, grpc::Status* end) {
  // A 1 MiB read from a local file is short enough to do in the reaction;
  // the file is the driver's own library, not user-sized data.
  std::string* data = out->mutable_data();
  data->resize(kChunkBytes);
  size_t got = 0;
  while (got < kChunkBytes) {
    ssize_t n = ::read(fd_, data->data() + got, kChunkBytes - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *end = ToGrpcStatus(ErrnoError("reading application " + server_->options().app_path, errno));
      return false;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  data->resize(got);
  if (first_) {
    // The first chunk always goes out, even for an empty file, because it
    // carries the checksum and size.
    first_ = false;
    out->set_sha256(server_->options().app_sha256);
    out->set_total_size(total_);
    return true;
  }
  if (got == 0) {
    *end = grpc::Status::OK;
    return false;
  }
  return true;
}

// -------------------------------------------------------- FetchBroadcast --

FetchBroadcastReactor::FetchBroadcastReactor(grpc::CallbackServerContext* ctx,
                                             DriverServerImpl* server)
    : ChunkWriter(server), server_(server) {
  Begin(server->Authenticate(*ctx, "FetchBroadcast"));
}

grpc::Status FetchBroadcastReactor::Open(const proto::FetchBroadcastRequest& req) {
  auto value = server_->events()->GetBroadcast(req.broadcast_id());
  if (!value.ok()) return ToGrpcStatus(value.status());
  data_ = std::move(value).value();
  return grpc::Status::OK;
}

bool FetchBroadcastReactor::Next(proto::Chunk* out, grpc::Status* end) {
  if (!first_ && offset_ >= data_->size()) {
    *end = grpc::Status::OK;
    return false;
  }
  if (first_) {
    first_ = false;
    out->set_total_size(data_->size());
  }
  const size_t n = std::min(kChunkBytes, data_->size() - offset_);
  out->set_data(data_->data() + offset_, n);
  offset_ += n;
  return true;
}

// ------------------------------------------------------ DriverServerImpl --

Status DriverServerImpl::Start() {
  ASSIGN_OR_RETURN(
      server_, internal::StartServer("driver server", options_.bind_address, options_.port,
                                     options_.secret, internal::kMaxMessageBytes,
                                     static_cast<proto::Driver::CallbackService*>(this), &port_));
  return Status::Ok();
}

void DriverServerImpl::Shutdown() {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_ || server_ == nullptr) return;
    shut_down_ = true;
    open = connections_;
  }
  for (const auto& conn : open) conn->Close(UnavailableError("driver is shutting down"));
  server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return live_calls_ == 0; });
}

}  // namespace

Result<std::unique_ptr<DriverServer>> DriverServer::Start(const DriverServerOptions& options,
                                                          DriverEvents* events) {
  auto server = std::make_unique<DriverServerImpl>(options, events);
  RETURN_IF_ERROR(server->Start());
  return std::unique_ptr<DriverServer>(std::move(server));
}

}  // namespace ember::transport
