#include "runtime/transport/driver_client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "runtime/proto/ember.grpc.pb.h"
#include "runtime/transport/grpc_status.h"
#include "runtime/transport/internal/rpc_util.h"

namespace ember::transport {
namespace {

// Close() waits this long for the driver to end the stream after our
// half-close before cancelling it.
constexpr std::chrono::seconds kCloseGrace{10};

std::string Hex(const unsigned char* bytes, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error a deferred close would swallow.
  int Reset() {
    int rc = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("writing " + path, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// The executor's stream: one read always in flight, at most one write.
//
// gRPC may call OnDone once no operation is pending, so a hold keeps the
// stream open while Send() may still start writes. The hold goes away
// exactly once: when the half-close is started, or when the stream has
// failed and no write is in flight.
class StreamReactor : public grpc::ClientBidiReactor<proto::ExecutorMessage, proto::DriverMessage> {
 public:
  explicit StreamReactor(DriverClient::Handlers handlers) : handlers_(std::move(handlers)) {}

  grpc::ClientContext* ctx() { return &ctx_; }

  // Queues `first`, then starts the call.
  void Start(proto::ExecutorMessage first) {
    AddHold();
    StartRead(&in_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_ = std::move(first);
      write_in_flight_ = true;
    }
    StartWrite(&current_);
    StartCall();
  }

  bool Send(proto::ExecutorMessage msg) {
    std::unique_lock<std::mutex> lock(mu_);
    if (closing_ || failed_) return false;
    queue_.push_back(std::move(msg));
    Pump(std::move(lock));
    return true;
  }

  void Close() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!closing_) {
        closing_ = true;
        Pump(std::move(lock));
      }
    }
    // A handler that closes the client must not wait for its own return.
    if (in_handler_thread_ == std::this_thread::get_id()) return;
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, kCloseGrace, [this] { return handlers_done_; })) {
      EMBER_LOG(kWarning) << "driver did not end the stream within " << kCloseGrace.count()
                          << "s of our half-close; cancelling it";
      ctx_.TryCancel();
      cv_.wait(lock, [this] { return handlers_done_; });
    }
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The driver ended the stream (or it broke): no write can succeed now.
      std::unique_lock<std::mutex> lock(mu_);
      failed_ = true;
      queue_.clear();
      Pump(std::move(lock));
      return;
    }
    in_handler_thread_ = std::this_thread::get_id();
    if (handlers_.on_message) {
      internal::ForEachMessage(
          in_, [this](const proto::DriverMessage& msg) { handlers_.on_message(msg); });
    }
    in_handler_thread_ = std::thread::id();
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    write_in_flight_ = false;
    if (!ok) {
      failed_ = true;
      queue_.clear();
    }
    Pump(std::move(lock));
  }

  void OnWritesDoneDone(bool /*ok*/) override {}

  void OnDone(const grpc::Status& status) override {
    in_handler_thread_ = std::this_thread::get_id();
    if (handlers_.on_closed) handlers_.on_closed(FromGrpcStatus(status));
    in_handler_thread_ = std::thread::id();
    std::lock_guard<std::mutex> lock(mu_);
    handlers_done_ = true;
    cv_.notify_all();
  }

  // True once OnDone has returned; the reactor may then be destroyed.
  void WaitDone() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return handlers_done_; });
  }

 private:
  // Starts the next write, the half-close, or drops the hold, as due.
  void Pump(std::unique_lock<std::mutex> lock) {
    if (write_in_flight_ || hold_released_) return;
    if (!failed_ && !queue_.empty()) {
      internal::TakeNextWrite(queue_, &current_);
      write_in_flight_ = true;
      lock.unlock();
      StartWrite(&current_);
      return;
    }
    if (!failed_ && !closing_) return;
    hold_released_ = true;
    const bool half_close = !failed_;
    lock.unlock();
    if (half_close) StartWritesDone();
    RemoveHold();
  }

  DriverClient::Handlers handlers_;
  grpc::ClientContext ctx_;
  proto::DriverMessage in_;
  // Set while a handler runs, so Close() from inside it does not self-wait.
  std::atomic<std::thread::id> in_handler_thread_{};

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<proto::ExecutorMessage> queue_;  // guarded by mu_
  proto::ExecutorMessage current_;            // owned by the write in flight
  bool write_in_flight_ = false;              // guarded by mu_
  bool closing_ = false;                      // Close() was called; guarded by mu_
  bool failed_ = false;                       // no write can succeed; guarded by mu_
  bool hold_released_ = false;                // guarded by mu_
  bool handlers_done_ = false;                // OnDone returned; guarded by mu_
};

class DriverClientImpl : public DriverClient {
 public:
  DriverClientImpl(DriverClientOptions options, std::shared_ptr<grpc::Channel> channel,
                   Handlers handlers)
      : options_(std::move(options)),
        stub_(proto::Driver::NewStub(channel)),
        stream_(std::make_unique<StreamReactor>(std::move(handlers))) {}

  ~DriverClientImpl() override {
    Close();
    stream_->WaitDone();
  }

  void Start(const proto::RegisterExecutor& reg) {
    internal::PrepareClientContext(stream_->ctx(), options_.secret, options_.stream_deadline);
    stub_->async()->Connect(stream_->ctx(), stream_.get());
    proto::ExecutorMessage first;
    *first.mutable_register_() = reg;
    stream_->Start(std::move(first));
  }

  bool Send(proto::ExecutorMessage msg) override { return stream_->Send(std::move(msg)); }
  void Close() override { stream_->Close(); }

  Status FetchApplication(const std::string& app_id, const std::string& dest_path,
                          const std::string& expected_sha256) override;
  Result<std::string> FetchBroadcast(uint64_t id) override;

 private:
  Status DownloadApplication(const std::string& app_id, const std::string& tmp_path,
                             const std::string& expected_sha256);

  const DriverClientOptions options_;
  std::unique_ptr<proto::Driver::Stub> stub_;
  std::unique_ptr<StreamReactor> stream_;
};

Status DriverClientImpl::FetchApplication(const std::string& app_id, const std::string& dest_path,
                                          const std::string& expected_sha256) {
  const std::string tmp_path = dest_path + ".tmp";
  Status st = DownloadApplication(app_id, tmp_path, expected_sha256);
  if (!st.ok()) {
    ::unlink(tmp_path.c_str());
    return st.WithContext("fetching application from " + options_.driver_address);
  }
  if (::rename(tmp_path.c_str(), dest_path.c_str()) != 0) {
    Status err = ErrnoError("renaming " + tmp_path + " to " + dest_path, errno);
    ::unlink(tmp_path.c_str());
    return err;
  }
  return Status::Ok();
}

Status DriverClientImpl::DownloadApplication(const std::string& app_id, const std::string& tmp_path,
                                             const std::string& expected_sha256) {
  // A new file, never an existing one or a link planted in its place. The
  // library is dlopen()ed, so it is readable and executable by us alone.
  UniqueFd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0500));
  if (fd.get() < 0) return ErrnoError("creating " + tmp_path, errno);
  std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter> md(EVP_MD_CTX_new());
  if (md == nullptr || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) {
    return InternalError("initialising SHA-256");
  }

  uint64_t expected_size = 0;
  uint64_t received = 0;
  bool first = true;
  proto::FetchApplicationRequest req;
  req.set_app_id(app_id);
  internal::ChunkReader<proto::FetchApplicationRequest> reader(
      std::move(req), [&](const proto::Chunk& chunk) -> Status {
        if (first) {
          first = false;
          expected_size = chunk.total_size();
        }
        received += chunk.data().size();
        if (received > expected_size) {
          return DataLossError("application larger than the announced " +
                               std::to_string(expected_size) + " bytes");
        }
        if (EVP_DigestUpdate(md.get(), chunk.data().data(), chunk.data().size()) != 1) {
          return InternalError("updating SHA-256");
        }
        return WriteAll(fd.get(), chunk.data(), tmp_path);
      });
  internal::PrepareClientContext(reader.ctx(), options_.secret, options_.fetch_deadline);
  stub_->async()->FetchApplication(reader.ctx(), &reader);
  reader.Start();
  RETURN_IF_ERROR(reader.Wait());

  if (first) return DataLossError("application stream ended without a chunk");
  if (received != expected_size) {
    return DataLossError("application truncated: received " + std::to_string(received) + " of " +
                         std::to_string(expected_size) + " bytes");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(md.get(), digest, &len) != 1) return InternalError("finishing SHA-256");
  const std::string got = Hex(digest, len);
  if (got != Lower(expected_sha256)) {
    return DataLossError("application checksum mismatch: expected " + expected_sha256 + ", got " +
                         got);
  }
  // Durable before it becomes visible under its final name.
  if (::fsync(fd.get()) != 0) return ErrnoError("fsync " + tmp_path, errno);
  if (fd.Reset() != 0) return ErrnoError("closing " + tmp_path, errno);
  return Status::Ok();
}

Result<std::string> DriverClientImpl::FetchBroadcast(uint64_t id) {
  std::string data;
  uint64_t expected_size = 0;
  bool first = true;
  proto::FetchBroadcastRequest req;
  req.set_broadcast_id(id);
  internal::ChunkReader<proto::FetchBroadcastRequest> reader(
      std::move(req), [&](const proto::Chunk& chunk) -> Status {
        if (first) {
          first = false;
          expected_size = chunk.total_size();
          data.reserve(expected_size);
        }
        data += chunk.data();
        return Status::Ok();
      });
  internal::PrepareClientContext(reader.ctx(), options_.secret, options_.fetch_deadline);
  stub_->async()->FetchBroadcast(reader.ctx(), &reader);
  reader.Start();
  const std::string context =
      "fetching broadcast " + std::to_string(id) + " from " + options_.driver_address;
  RETURN_IF_ERROR_CTX(reader.Wait(), context);
  if (first || data.size() != expected_size) {
    return DataLossError("broadcast truncated: received " + std::to_string(data.size()) + " of " +
                         std::to_string(expected_size) + " bytes")
        .WithContext(context);
  }
  return data;
}

}  // namespace

Result<std::unique_ptr<DriverClient>> DriverClient::Connect(const DriverClientOptions& options,
                                                            const proto::RegisterExecutor& reg,
                                                            Handlers handlers) {
  if (options.driver_address.empty()) return InvalidArgumentError("driver address is empty");
  if (options.secret.empty()) return InvalidArgumentError("application secret is empty");
  // The shared secret is the authentication; TLS is future work, hence
  // insecure channel credentials.
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      options.driver_address, grpc::InsecureChannelCredentials(), internal::ClientChannelArgs());
  auto client =
      std::make_unique<DriverClientImpl>(options, std::move(channel), std::move(handlers));
  client->Start(reg);
  return std::unique_ptr<DriverClient>(std::move(client));
}

}  // namespace ember::transport
