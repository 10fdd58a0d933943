// Pins down the transport's contract over real gRPC: registration, ordered
// delivery both ways, the shared-secret check on every service, protocol
// errors, verified downloads, shuffle fetches, disconnect notification, and
// the stream between two processes.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "runtime/executor/shuffle_reader.h"
#include "runtime/metrics/metrics.h"
#include "runtime/proto/ember.grpc.pb.h"
#include "runtime/shuffle/crc32c.h"
#include "runtime/transport/auth.h"
#include "runtime/transport/driver_client.h"
#include "runtime/transport/driver_server.h"
#include "runtime/transport/shuffle_service.h"

namespace ember::transport {
namespace {

using namespace std::chrono_literals;

constexpr auto kWait = 20s;
const char kAppId[] = "app-1";

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The scheduler's side, recorded for assertions.
class TestEvents : public DriverEvents {
 public:
  Status OnRegister(const proto::RegisterExecutor& reg,
                    std::shared_ptr<ExecutorConnection> conn) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!refuse_with.ok()) return refuse_with;
    proto::DriverMessage reply;
    reply.mutable_registered()->set_app_sha256("abc");
    reply.mutable_registered()->set_heartbeat_interval_ms(1000);
    conn->Send(std::move(reply));
    regs.push_back(reg);
    conns[reg.executor_id()] = std::move(conn);
    cv.notify_all();
    return Status::Ok();
  }
  void OnMessage(const std::string& executor_id, const proto::ExecutorMessage& msg) override {
    std::lock_guard<std::mutex> lock(mu);
    messages[executor_id].push_back(msg);
    cv.notify_all();
  }
  void OnDisconnect(const std::string& executor_id, const Status& why) override {
    std::lock_guard<std::mutex> lock(mu);
    disconnects.emplace_back(executor_id, why);
    cv.notify_all();
  }
  Result<std::shared_ptr<const std::string>> GetBroadcast(uint64_t id) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = broadcasts.find(id);
    if (it == broadcasts.end()) return NotFoundError("no broadcast " + std::to_string(id));
    return std::make_shared<const std::string>(it->second);
  }

  // Waits for `pred` (evaluated under mu).
  bool WaitFor(const std::function<bool()>& pred) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kWait, pred);
  }
  std::shared_ptr<ExecutorConnection> Conn(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    return conns[id];
  }

  std::mutex mu;
  std::condition_variable cv;
  Status refuse_with;
  std::vector<proto::RegisterExecutor> regs;
  std::map<std::string, std::shared_ptr<ExecutorConnection>> conns;
  std::map<std::string, std::vector<proto::ExecutorMessage>> messages;
  std::vector<std::pair<std::string, Status>> disconnects;
  std::map<uint64_t, std::string> broadcasts;
};

// The executor's handlers, recorded for assertions.
struct ClientRecorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<proto::DriverMessage> messages;
  int closed_calls = 0;
  Status closed_with;

  DriverClient::Handlers Handlers() {
    DriverClient::Handlers h;
    h.on_message = [this](const proto::DriverMessage& m) {
      std::lock_guard<std::mutex> lock(mu);
      messages.push_back(m);
      cv.notify_all();
    };
    h.on_closed = [this](const Status& s) {
      std::lock_guard<std::mutex> lock(mu);
      ++closed_calls;
      closed_with = s;
      cv.notify_all();
    };
    return h;
  }
  bool WaitFor(const std::function<bool()>& pred) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kWait, pred);
  }
};

// Segments held in memory, served by the real shuffle server. A read can
// be slowed down to keep many fetches in flight at once.
class MemorySegment final : public Segment {
 public:
  // `open` counts live segments; `closed` set means the source is gone, as
  // an executor's store is once it has been freed.
  MemorySegment(std::string bytes, uint64_t version, std::chrono::milliseconds delay,
                std::atomic<int>* open, std::atomic<int>* max_open,
                std::atomic<int>* reads_after_close, const std::atomic<bool>* closed)
      : bytes_(std::move(bytes)),
        version_(version),
        delay_(delay),
        open_(open),
        reads_after_close_(reads_after_close),
        closed_(closed) {
    const int now = ++*open_;
    for (int seen = max_open->load(); now > seen && !max_open->compare_exchange_weak(seen, now);) {
    }
  }
  ~MemorySegment() override { --*open_; }
  uint64_t size() const override { return bytes_.size(); }
  uint64_t version() const override { return version_; }
  Status Read(uint64_t offset, size_t n, std::string* out) override {
    if (*closed_) ++*reads_after_close_;
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    *out = bytes_.substr(offset, n);
    return Status::Ok();
  }

 private:
  std::string bytes_;
  uint64_t version_;
  std::chrono::milliseconds delay_;
  std::atomic<int>* open_;
  std::atomic<int>* reads_after_close_;
  const std::atomic<bool>* closed_;
};

class MemoryShuffleSource : public ShuffleSource {
 public:
  Result<std::unique_ptr<Segment>> OpenSegment(uint32_t shuffle_id, uint32_t map_id,
                                               uint32_t reduce_id) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = segments.find({shuffle_id, map_id, reduce_id});
    if (it == segments.end()) {
      return NotFoundError("no output of shuffle " + std::to_string(shuffle_id) + " map " +
                           std::to_string(map_id));
    }
    return std::unique_ptr<Segment>(
        std::make_unique<MemorySegment>(it->second, version, read_delay, &open_segments,
                                        &max_open_segments, &reads_after_close, &closed));
  }
  std::atomic<int> open_segments{0};
  std::atomic<int> max_open_segments{0};  // the most open at once
  std::atomic<int> reads_after_close{0};
  std::atomic<bool> closed{false};
  std::mutex mu;
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, std::string> segments;
  uint64_t version = 7;
  std::chrono::milliseconds read_delay{0};
};

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    secret_ = GenerateSecret();
    auto metrics = Metrics::Start("driver", "127.0.0.1", -1);
    ASSERT_TRUE(metrics.ok());
    metrics_ = std::move(metrics).value();

    char dir[] = "/tmp/ember-transport-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    app_bytes_ = RandomBytes(5 * 1024 * 1024 + 12345, 7);  // several 1 MiB chunks plus a tail
    app_path_ = dir_ + "/libapp.so";
    std::ofstream(app_path_, std::ios::binary) << app_bytes_;

    DriverServerOptions opts;
    opts.secret = secret_;
    opts.app_id = kAppId;
    opts.app_path = app_path_;
    opts.app_sha256 = Sha256Hex(app_bytes_);
    opts.metrics = metrics_.get();
    auto server = DriverServer::Start(opts, &events_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  DriverClientOptions ClientOptions(const std::string& secret) const {
    DriverClientOptions o;
    o.driver_address = address_;
    o.secret = secret;
    o.fetch_deadline = 30s;
    return o;
  }

  static proto::RegisterExecutor Reg(const std::string& id, const std::string& app_id = kAppId) {
    proto::RegisterExecutor reg;
    reg.set_executor_id(id);
    reg.set_app_id(app_id);
    reg.set_host("127.0.0.1");
    reg.set_shuffle_port(7337);
    reg.set_cores(4);
    reg.set_memory_bytes(1 << 30);
    return reg;
  }

  std::unique_ptr<DriverClient> ConnectOk(const std::string& id, ClientRecorder* rec) {
    auto client = DriverClient::Connect(ClientOptions(secret_), Reg(id), rec->Handlers());
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    EXPECT_TRUE(rec->WaitFor([&] { return !rec->messages.empty() || rec->closed_calls > 0; }));
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::string secret_;
  std::unique_ptr<Metrics> metrics_;
  std::string dir_;
  std::string app_bytes_;
  std::string app_path_;
  TestEvents events_;
  std::unique_ptr<DriverServer> server_;
  std::string address_;
};

TEST_F(TransportTest, RegistrationRoundTrip) {
  ClientRecorder rec;
  auto client = ConnectOk("exec-1", &rec);
  ASSERT_NE(client, nullptr);
  {
    std::lock_guard<std::mutex> lock(rec.mu);
    ASSERT_EQ(rec.messages.size(), 1u);
    ASSERT_TRUE(rec.messages[0].has_registered());
    EXPECT_EQ(rec.messages[0].registered().app_sha256(), "abc");
  }
  {
    std::lock_guard<std::mutex> lock(events_.mu);
    ASSERT_EQ(events_.regs.size(), 1u);
    EXPECT_EQ(events_.regs[0].executor_id(), "exec-1");
    EXPECT_EQ(events_.regs[0].cores(), 4u);
    EXPECT_EQ(events_.regs[0].shuffle_port(), 7337u);
    EXPECT_NE(events_.conns["exec-1"]->peer(), "");
  }
  client->Close();
  EXPECT_EQ(rec.closed_calls, 1);
  EXPECT_TRUE(rec.closed_with.ok()) << rec.closed_with.ToString();
}

TEST_F(TransportTest, ThousandMessagesEachWayArriveInOrder) {
  constexpr uint32_t kCount = 1000;
  ClientRecorder rec;
  auto client = ConnectOk("exec-1", &rec);
  ASSERT_NE(client, nullptr);
  auto conn = events_.Conn("exec-1");
  ASSERT_NE(conn, nullptr);

  // Both directions at once, so writes and reads interleave on the stream.
  std::thread driver_side([&] {
    for (uint32_t i = 0; i < kCount; ++i) {
      proto::DriverMessage m;
      m.mutable_kill_task()->set_task_id(i);
      ASSERT_TRUE(conn->Send(std::move(m)));
    }
  });
  for (uint32_t i = 0; i < kCount; ++i) {
    proto::ExecutorMessage m;
    m.mutable_heartbeat()->set_running_tasks(i);
    ASSERT_TRUE(client->Send(std::move(m)));
  }
  driver_side.join();

  ASSERT_TRUE(events_.WaitFor([&] { return events_.messages["exec-1"].size() == kCount; }));
  ASSERT_TRUE(rec.WaitFor([&] { return rec.messages.size() == kCount + 1; }));
  {
    std::lock_guard<std::mutex> lock(events_.mu);
    for (uint32_t i = 0; i < kCount; ++i) {
      ASSERT_EQ(events_.messages["exec-1"][i].heartbeat().running_tasks(), i);
    }
  }
  {
    std::lock_guard<std::mutex> lock(rec.mu);
    for (uint32_t i = 0; i < kCount; ++i) ASSERT_EQ(rec.messages[i + 1].kill_task().task_id(), i);
  }
  client->Close();
}

TEST_F(TransportTest, LargeMessagesPassTheDefaultSizeLimit) {
  ClientRecorder rec;
  auto client = ConnectOk("exec-1", &rec);
  ASSERT_NE(client, nullptr);
  const std::string result = RandomBytes(20 * 1024 * 1024, 3);  // well above gRPC's 4 MiB default
  proto::ExecutorMessage m;
  m.mutable_task_status()->set_task_id(9);
  m.mutable_task_status()->set_result(result);
  ASSERT_TRUE(client->Send(std::move(m)));
  ASSERT_TRUE(events_.WaitFor([&] { return events_.messages["exec-1"].size() == 1; }));
  std::lock_guard<std::mutex> lock(events_.mu);
  EXPECT_EQ(events_.messages["exec-1"][0].task_status().result(), result);
}

TEST_F(TransportTest, ConnectWithWrongSecretIsUnauthenticated) {
  ClientRecorder rec;
  auto client =
      DriverClient::Connect(ClientOptions("not-the-secret"), Reg("exec-x"), rec.Handlers());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(rec.WaitFor([&] { return rec.closed_calls > 0; }));
  EXPECT_EQ(rec.closed_with.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(rec.closed_with.message(), "missing or wrong application secret");
  EXPECT_TRUE(rec.messages.empty());
  EXPECT_FALSE((*client)->Send(proto::ExecutorMessage()));
  (*client)->Close();
  EXPECT_EQ(rec.closed_calls, 1);
  std::lock_guard<std::mutex> lock(events_.mu);
  EXPECT_TRUE(events_.regs.empty());
  EXPECT_TRUE(events_.disconnects.empty());
  EXPECT_GE(metrics_->auth_failures_total->Value(), 1);
}

TEST_F(TransportTest, CallWithoutSecretMetadataIsUnauthenticated) {
  auto stub =
      proto::Driver::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kWait);
  proto::FetchBroadcastRequest req;
  auto reader = stub->FetchBroadcast(&ctx);
  reader->Write(req);
  reader->WritesDone();
  proto::Chunk chunk;
  EXPECT_FALSE(reader->Read(&chunk));
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(TransportTest, FetchApplicationWithWrongSecretIsUnauthenticated) {
  ClientRecorder rec;
  auto client = DriverClient::Connect(ClientOptions("wrong"), Reg("exec-x"), rec.Handlers());
  ASSERT_TRUE(client.ok());
  const std::string dest = dir_ + "/fetched.so";
  Status st = (*client)->FetchApplication(kAppId, dest, Sha256Hex(app_bytes_));
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated) << st.ToString();
  EXPECT_FALSE(Exists(dest));
  EXPECT_FALSE(Exists(dest + ".tmp"));
  auto b = (*client)->FetchBroadcast(1);
  EXPECT_EQ(b.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(TransportTest, FirstMessageMustBeRegister) {
  auto stub =
      proto::Driver::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.AddMetadata(std::string(kSecretMetadataKey), secret_);
  ctx.set_deadline(std::chrono::system_clock::now() + kWait);
  auto stream = stub->Connect(&ctx);
  proto::ExecutorMessage hb;
  hb.mutable_heartbeat()->set_running_tasks(1);
  stream->Write(hb);
  stream->WritesDone();
  proto::DriverMessage ignored;
  while (stream->Read(&ignored)) {
  }
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "first message must be register");
  std::lock_guard<std::mutex> lock(events_.mu);
  EXPECT_TRUE(events_.regs.empty());
  EXPECT_TRUE(events_.disconnects.empty());
}

TEST_F(TransportTest, WrongAppIdIsFailedPrecondition) {
  ClientRecorder rec;
  auto client =
      DriverClient::Connect(ClientOptions(secret_), Reg("exec-1", "other-app"), rec.Handlers());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(rec.WaitFor([&] { return rec.closed_calls > 0; }));
  EXPECT_EQ(rec.closed_with.code(), StatusCode::kFailedPrecondition) << rec.closed_with.ToString();
  EXPECT_TRUE(events_.regs.empty());
}

TEST_F(TransportTest, RefusalFromOnRegisterEndsTheStreamWithItsStatus) {
  {
    std::lock_guard<std::mutex> lock(events_.mu);
    events_.refuse_with = AlreadyExistsError("executor exec-1 is already registered");
  }
  ClientRecorder rec;
  auto client = DriverClient::Connect(ClientOptions(secret_), Reg("exec-1"), rec.Handlers());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(rec.WaitFor([&] { return rec.closed_calls > 0; }));
  EXPECT_EQ(rec.closed_with, AlreadyExistsError("executor exec-1 is already registered"));
  std::lock_guard<std::mutex> lock(events_.mu);
  EXPECT_TRUE(events_.disconnects.empty());
}

TEST_F(TransportTest, FetchApplicationVerifiesChecksum) {
  ClientRecorder rec;
  auto client = ConnectOk("exec-1", &rec);
  ASSERT_NE(client, nullptr);
  const std::string dest = dir_ + "/fetched.so";
  Status st = client->FetchApplication(kAppId, dest, Sha256Hex(app_bytes_));
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(ReadFile(dest), app_bytes_);
  EXPECT_FALSE(Exists(dest + ".tmp"));
  client->Close();
}

TEST_F(TransportTest, FetchApplicationWithWrongChecksumIsDataLossAndLeavesNoFile) {
  ClientRecorder rec;
  auto client = ConnectOk("exec-1", &rec);
  ASSERT_NE(client, nullptr);
  const std::string dest = dir_ + "/fetched.so";
  const std::string wrong(64, '0');
  Status st = client->FetchApplication(kAppId, dest, wrong);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.ToString();
  EXPECT_NE(st.message().find("application checksum mismatch: expected " + wrong + ", got " +
                              Sha256Hex(app_bytes_)),
            std::string::npos)
      << st.message();
  EXPECT_FALSE(Exists(dest));
  EXPECT_FALSE(Exists(dest + ".tmp"));
  client->Close();
}

TEST_F(TransportTest, FetchApplicationOfAnotherAppIsRefused) {
  ClientRecorder rec;
  auto client = ConnectOk("exec-1", &rec);
  ASSERT_NE(client, nullptr);
  Status st = client->FetchApplication("other-app", dir_ + "/x.so", Sha256Hex(app_bytes_));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  client->Close();
}

TEST_F(TransportTest, FetchBroadcastReassemblesChunksAndPassesNotFound) {
  const std::string value = RandomBytes(3 * 1024 * 1024 + 5, 11);
  {
    std::lock_guard<std::mutex> lock(events_.mu);
    events_.broadcasts[4] = value;
    events_.broadcasts[5] = "";
  }
  ClientRecorder rec;
  auto client = ConnectOk("exec-1", &rec);
  ASSERT_NE(client, nullptr);
  auto got = client->FetchBroadcast(4);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, value);
  auto empty = client->FetchBroadcast(5);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(*empty, "");
  auto missing = client->FetchBroadcast(6);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no broadcast 6"), std::string::npos);
  client->Close();
}

TEST_F(TransportTest, OnDisconnectFiresOnceWhenClientCloses) {
  ClientRecorder rec;
  auto client = ConnectOk("exec-1", &rec);
  ASSERT_NE(client, nullptr);
  client->Close();
  ASSERT_TRUE(events_.WaitFor([&] { return !events_.disconnects.empty(); }));
  client.reset();
  std::this_thread::sleep_for(100ms);
  std::lock_guard<std::mutex> lock(events_.mu);
  ASSERT_EQ(events_.disconnects.size(), 1u);
  EXPECT_EQ(events_.disconnects[0].first, "exec-1");
  EXPECT_TRUE(events_.disconnects[0].second.ok()) << events_.disconnects[0].second.ToString();
  EXPECT_FALSE(events_.conns["exec-1"]->Send(proto::DriverMessage()));
}

TEST_F(TransportTest, DriverCloseReachesClientAfterQueuedMessages) {
  ClientRecorder rec;
  auto client = ConnectOk("exec-1", &rec);
  ASSERT_NE(client, nullptr);
  auto conn = events_.Conn("exec-1");
  proto::DriverMessage bye;
  bye.mutable_shutdown()->set_reason("done");
  ASSERT_TRUE(conn->Send(bye));
  conn->Close(AbortedError("application finished"));
  ASSERT_TRUE(rec.WaitFor([&] { return rec.closed_calls > 0; }));
  EXPECT_EQ(rec.closed_with, AbortedError("application finished"));
  ASSERT_EQ(rec.messages.size(), 2u);
  EXPECT_EQ(rec.messages[1].shutdown().reason(), "done");
  ASSERT_TRUE(events_.WaitFor([&] { return events_.disconnects.size() == 1; }));
  EXPECT_EQ(events_.disconnects[0].second, AbortedError("application finished"));
}

TEST_F(TransportTest, ServerShutdownEndsOpenStreams) {
  ClientRecorder rec;
  auto client = ConnectOk("exec-1", &rec);
  ASSERT_NE(client, nullptr);
  server_->Shutdown();
  ASSERT_TRUE(rec.WaitFor([&] { return rec.closed_calls > 0; }));
  EXPECT_EQ(rec.closed_with.code(), StatusCode::kUnavailable);
  std::lock_guard<std::mutex> lock(events_.mu);
  EXPECT_EQ(events_.disconnects.size(), 1u);
}

// ----------------------------------------------------------- processes --

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  EXPECT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(TransportTest, ExecutorInAnotherProcess) {
  constexpr uint32_t kCount = 500;
  pid_t pid = Spawn(
      {EMBER_TRANSPORT_HELPER, address_, secret_, kAppId, "exec-proc", std::to_string(kCount)});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(events_.WaitFor([&] { return events_.conns.count("exec-proc") == 1; }));
  ASSERT_TRUE(events_.WaitFor([&] { return events_.messages["exec-proc"].size() == kCount; }));
  {
    std::lock_guard<std::mutex> lock(events_.mu);
    for (uint32_t i = 0; i < kCount; ++i) {
      ASSERT_EQ(events_.messages["exec-proc"][i].heartbeat().running_tasks(), i);
    }
  }
  auto conn = events_.Conn("exec-proc");
  for (uint32_t i = 0; i < kCount; ++i) {
    proto::DriverMessage m;
    m.mutable_kill_task()->set_task_id(i);
    ASSERT_TRUE(conn->Send(std::move(m)));
  }
  proto::DriverMessage bye;
  bye.mutable_shutdown()->set_reason("test over");
  ASSERT_TRUE(conn->Send(std::move(bye)));
  EXPECT_EQ(WaitExit(pid), 0);
  ASSERT_TRUE(events_.WaitFor([&] { return events_.disconnects.size() == 1; }));
  EXPECT_TRUE(events_.disconnects[0].second.ok()) << events_.disconnects[0].second.ToString();
}

TEST_F(TransportTest, KilledExecutorProcessIsDisconnected) {
  pid_t pid = Spawn({EMBER_TRANSPORT_HELPER, address_, secret_, kAppId, "exec-doomed", "0"});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(events_.WaitFor([&] { return events_.conns.count("exec-doomed") == 1; }));
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_EQ(WaitExit(pid), 128 + SIGKILL);
  ASSERT_TRUE(events_.WaitFor([&] { return events_.disconnects.size() == 1; }));
  EXPECT_EQ(events_.disconnects[0].first, "exec-doomed");
  EXPECT_EQ(events_.disconnects[0].second.code(), StatusCode::kUnavailable)
      << events_.disconnects[0].second.ToString();
}

// -------------------------------------------------------------- shuffle --

class ShuffleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    secret_ = GenerateSecret();
    auto metrics = Metrics::Start("executor", "127.0.0.1", -1);
    ASSERT_TRUE(metrics.ok());
    metrics_ = std::move(metrics).value();
    ShuffleServerOptions opts;
    opts.secret = secret_;
    opts.app_id = kAppId;
    opts.metrics = metrics_.get();
    auto server = ShuffleServer::Start(opts, &source_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  std::string secret_;
  std::unique_ptr<Metrics> metrics_;
  MemoryShuffleSource source_;
  std::unique_ptr<ShuffleServer> server_;
  std::string address_;
};

TEST_F(ShuffleTest, MultiChunkSegmentArrivesExactlyInOrder) {
  const std::string segment = RandomBytes(7 * 1024 * 1024 + 333, 5);
  source_.segments[{1, 3, 0}] = segment;
  ShuffleClient client(secret_, kAppId);
  std::string got;
  int pieces = 0;
  Status st = client.Fetch(address_, 1, 3, 0, [&](std::string_view piece) {
    got.append(piece);
    ++pieces;
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(got.size(), segment.size());
  EXPECT_TRUE(got == segment);
  EXPECT_EQ(pieces, static_cast<int>((segment.size() + 256 * 1024 - 1) / (256 * 1024)))
      << "the shuffle server sends 256 KiB chunks";
}

TEST_F(ShuffleTest, ConcurrentFetchesShareTheChannel) {
  for (uint32_t r = 0; r < 8; ++r) source_.segments[{2, 0, r}] = RandomBytes(1500 * 1024, r);
  ShuffleClient client(secret_, kAppId);
  std::vector<std::thread> threads;
  std::vector<std::string> got(8);
  std::vector<Status> status(8);
  for (uint32_t r = 0; r < 8; ++r) {
    threads.emplace_back([&, r] {
      status[r] = client.Fetch(address_, 2, 0, r, [&](std::string_view p) {
        got[r].append(p);
        return Status::Ok();
      });
    });
  }
  for (auto& t : threads) t.join();
  for (uint32_t r = 0; r < 8; ++r) {
    EXPECT_TRUE(status[r].ok()) << status[r].ToString();
    EXPECT_TRUE((got[r] == source_.segments[{2, 0, r}])) << r;
  }
}

TEST_F(ShuffleTest, EmptySegmentIsOk) {
  source_.segments[{1, 0, 0}] = "";
  ShuffleClient client(secret_, kAppId);
  int pieces = 0;
  Status st = client.Fetch(address_, 1, 0, 0, [&](std::string_view) {
    ++pieces;
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(pieces, 0);
}

TEST_F(ShuffleTest, NotFoundPassesThroughNamingTheAddress) {
  ShuffleClient client(secret_, kAppId);
  Status st = client.Fetch(address_, 1, 3, 0, [](std::string_view) { return Status::Ok(); });
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "fetching shuffle 1 map 3 reduce 0 from " + address_ +
                              ": no output of shuffle 1 map 3");
}

TEST_F(ShuffleTest, FetchWithoutTheSecretIsUnauthenticated) {
  source_.segments[{1, 3, 0}] = "data";
  ShuffleClient client("wrong-secret", kAppId);
  std::string got;
  Status st = client.Fetch(address_, 1, 3, 0, [&](std::string_view p) {
    got.append(p);
    return Status::Ok();
  });
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated) << st.ToString();
  EXPECT_NE(st.message().find("missing or wrong application secret"), std::string::npos);
  EXPECT_EQ(got, "");
  EXPECT_EQ(metrics_->auth_failures_total->Value(), 1);
}

TEST_F(ShuffleTest, WrongAppIdIsRefused) {
  source_.segments[{1, 3, 0}] = "data";
  ShuffleClient client(secret_, "other-app");
  Status st = client.Fetch(address_, 1, 3, 0, [](std::string_view) { return Status::Ok(); });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
}

TEST_F(ShuffleTest, SinkErrorStopsTheFetch) {
  source_.segments[{1, 3, 0}] = RandomBytes(6 * 1024 * 1024, 1);
  ShuffleClient client(secret_, kAppId);
  int pieces = 0;
  Status st = client.Fetch(address_, 1, 3, 0, [&](std::string_view) {
    ++pieces;
    return ResourceExhaustedError("disk full");
  });
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(pieces, 1);
}

TEST_F(ShuffleTest, UnreachablePeerIsUnavailable) {
  const std::string dead = "127.0.0.1:" + std::to_string(server_->port());
  server_->Shutdown();
  ShuffleClient client(secret_, kAppId, 5s);
  Status st = client.Fetch(dead, 1, 3, 0, [](std::string_view) { return Status::Ok(); });
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("from " + dead), std::string::npos);
}

// A receiver that records everything, pausing after each chunk when asked.
class RecordingReceiver final : public FetchReceiver {
 public:
  explicit RecordingReceiver(bool pause_each) : pause_each_(pause_each) {}
  void OnStart(uint64_t total, uint64_t version) override {
    std::lock_guard<std::mutex> lock(mu);
    total_size = total;
    this->version = version;
    ++starts;
  }
  bool OnChunk(std::string&& data) override {
    std::lock_guard<std::mutex> lock(mu);
    bytes += data;
    ++chunks;
    cv.notify_all();
    return !pause_each_;
  }
  void OnEnd(Status st) override {
    std::lock_guard<std::mutex> lock(mu);
    end = std::move(st);
    ended = true;
    cv.notify_all();
  }
  bool WaitFor(const std::function<bool()>& pred) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kWait, pred);
  }

  std::mutex mu;
  std::condition_variable cv;
  uint64_t total_size = 0;
  uint64_t version = 0;
  int starts = 0;
  int chunks = 0;
  std::string bytes;
  Status end;
  bool ended = false;

 private:
  const bool pause_each_;
};

TEST_F(ShuffleTest, AFetchResumesAtAnOffsetOnlyInTheSameVersion) {
  const std::string segment = RandomBytes(3 * 1024 * 1024 + 17, 9);
  source_.segments[{1, 2, 0}] = segment;
  ShuffleClient client(secret_, kAppId);

  RecordingReceiver first(false);
  auto call = client.Start({address_, 1, 2, 0, 0, 0}, &first);
  ASSERT_TRUE(first.WaitFor([&] { return first.ended; }));
  ASSERT_TRUE(first.end.ok()) << first.end.ToString();
  EXPECT_EQ(first.starts, 1);
  EXPECT_EQ(first.total_size, segment.size());
  EXPECT_EQ(first.version, 7u);
  EXPECT_TRUE(first.bytes == segment);

  const uint64_t offset = 1024 * 1024 + 5;
  RecordingReceiver resumed(false);
  call = client.Start({address_, 1, 2, 0, offset, 7}, &resumed);
  ASSERT_TRUE(resumed.WaitFor([&] { return resumed.ended; }));
  ASSERT_TRUE(resumed.end.ok()) << resumed.end.ToString();
  EXPECT_TRUE(resumed.bytes == segment.substr(offset));

  // The map output was rewritten meanwhile: resuming would mix two files.
  source_.version = 8;
  RecordingReceiver stale(false);
  call = client.Start({address_, 1, 2, 0, offset, 7}, &stale);
  ASSERT_TRUE(stale.WaitFor([&] { return stale.ended; }));
  EXPECT_EQ(stale.end.code(), StatusCode::kAborted) << stale.end.ToString();
  EXPECT_EQ(stale.bytes, "");

  RecordingReceiver past(false);
  call = client.Start({address_, 1, 2, 0, segment.size() + 1, 0}, &past);
  ASSERT_TRUE(past.WaitFor([&] { return past.ended; }));
  EXPECT_EQ(past.end.code(), StatusCode::kOutOfRange) << past.end.ToString();
}

TEST_F(ShuffleTest, APausedFetchWaitsUntilResumed) {
  // Five 256 KiB chunks.
  const std::string segment = RandomBytes(5 * 256 * 1024, 4);
  source_.segments[{1, 1, 0}] = segment;
  ShuffleClient client(secret_, kAppId);
  RecordingReceiver rec(true);
  auto call = client.Start({address_, 1, 1, 0, 0, 0}, &rec);
  for (int expected = 1; expected <= 5; ++expected) {
    ASSERT_TRUE(rec.WaitFor([&] { return rec.chunks >= expected; }));
    // Paused: nothing more arrives until Resume. (A condition that would
    // have to become true for the test to fail; a short wait suffices.)
    std::this_thread::sleep_for(100ms);
    {
      std::lock_guard<std::mutex> lock(rec.mu);
      EXPECT_EQ(rec.chunks, expected);
    }
    call->Resume();
  }
  ASSERT_TRUE(rec.WaitFor([&] { return rec.ended; }));
  EXPECT_TRUE(rec.end.ok()) << rec.end.ToString();
  EXPECT_TRUE(rec.bytes == segment);
}

// A segment in the shuffle file's block framing: u32 length, u32 CRC32C,
// payload, for each payload.
std::string Framed(const std::vector<std::string>& payloads) {
  std::string out;
  for (const std::string& p : payloads) {
    const uint32_t header[2] = {static_cast<uint32_t>(p.size()), shuffle::Crc32c(p)};
    out.append(reinterpret_cast<const char*>(header), sizeof(header));  // little-endian host
    out += p;
  }
  return out;
}

ShuffleReadEnv RemoteReadEnv(ShuffleClient* client, uint32_t max_requests, uint64_t max_bytes) {
  ShuffleReadEnv env;
  env.executor_id = "reader";  // every output lives on "peer": all fetched
  env.client = client;
  env.options.max_requests_in_flight = max_requests;
  env.options.max_bytes_in_flight = max_bytes;
  env.check_cancelled = [] {};
  return env;
}

proto::ShuffleLocations Locations(uint32_t shuffle_id, uint32_t maps, const std::string& address) {
  proto::ShuffleLocations locations;
  locations.set_shuffle_id(shuffle_id);
  for (uint32_t m = 0; m < maps; ++m) {
    proto::MapLocation* map = locations.add_maps();
    map->set_map_id(m);
    map->set_executor_id("peer");
    map->set_address(address);
  }
  return locations;
}

// A reduce task reads its map outputs several at a time, never more than
// ember.reducer.maxReqsInFlight, and gets every block exactly once.
TEST_F(ShuffleTest, ReaderFetchesInParallelUpToItsLimit) {
  constexpr uint32_t kMaps = 6;
  std::multiset<std::string> expected;
  for (uint32_t m = 0; m < kMaps; ++m) {
    std::vector<std::string> blocks;
    for (uint32_t b = 0; b < 8; ++b) blocks.push_back(RandomBytes(64 * 1024, m * 100 + b));
    expected.insert(blocks.begin(), blocks.end());
    source_.segments[{4, m, 0}] = Framed(blocks);
  }
  // Each 256 KiB read takes 30 ms, so a fetch lasts long enough to overlap.
  source_.read_delay = 30ms;
  ShuffleClient client(secret_, kAppId);
  std::multiset<std::string> got;
  const uint64_t bytes =
      ReadShuffle(RemoteReadEnv(&client, 2, 48 << 20), Locations(4, kMaps, address_), 0,
                  [&](std::string_view block) { got.emplace(block); });
  EXPECT_TRUE(got == expected) << got.size() << " blocks of " << expected.size();
  EXPECT_EQ(bytes, kMaps * 8 * (64 * 1024 + 8));
  EXPECT_EQ(source_.max_open_segments.load(), 2)
      << "fetches in flight: not parallel, or past the limit";
}

// Blocks reach the task while their segment is still being fetched, and a
// consumer slower than the network holds the fetch back (the buffer is
// bounded) instead of the reader taking the segment whole.
TEST_F(ShuffleTest, ReaderHandsOverBlocksAsTheyStreamIn) {
  std::vector<std::string> blocks;
  // 16 MiB: more than gRPC's flow-control windows could hold for a paused
  // fetch, so only a reader that buffers without bound gets it all early.
  for (uint32_t b = 0; b < 256; ++b) blocks.push_back(RandomBytes(64 * 1024, 7000 + b));
  source_.segments[{5, 0, 0}] = Framed(blocks);
  ShuffleClient client(secret_, kAppId);
  std::vector<std::string> got;
  int open_at_first_block = -1;
  int open_at_middle_block = -1;
  ReadShuffle(RemoteReadEnv(&client, 1, 256 * 1024), Locations(5, 1, address_), 0,
              [&](std::string_view block) {
                if (got.empty()) open_at_first_block = source_.open_segments.load();
                if (got.size() == 32) open_at_middle_block = source_.open_segments.load();
                got.emplace_back(block);
                std::this_thread::sleep_for(1ms);  // slower than loopback
              });
  EXPECT_TRUE(got == blocks) << "blocks lost, duplicated or reordered within a segment";
  EXPECT_EQ(open_at_first_block, 1) << "the first block came only after the whole segment";
  EXPECT_EQ(open_at_middle_block, 1) << "the reader ran ahead of its 256 KiB buffer";
}

TEST_F(ShuffleTest, CancelEndsAFetchWithCancelled) {
  source_.segments[{1, 1, 0}] = RandomBytes(8 * 1024 * 1024, 4);
  ShuffleClient client(secret_, kAppId);
  RecordingReceiver rec(true);
  auto call = client.Start({address_, 1, 1, 0, 0, 0}, &rec);
  ASSERT_TRUE(rec.WaitFor([&] { return rec.chunks >= 1; }));
  call->Cancel();
  ASSERT_TRUE(rec.WaitFor([&] { return rec.ended; }));
  EXPECT_EQ(rec.end.code(), StatusCode::kCancelled) << rec.end.ToString();
}

// An executor stops its shuffle server, then frees the store the server reads
// from: when Shutdown returns, no fetch may hold or read a segment any more.
// Here a read outlasts gRPC's shutdown grace (5 s): the call is cancelled
// while the read still runs, and Shutdown must wait for it too.
TEST_F(ShuffleTest, ShutdownReturnsOnlyOnceNoFetchCanReadTheSource) {
  source_.segments[{1, 1, 0}] = RandomBytes(8 * 1024 * 1024, 4);
  source_.read_delay = 7s;
  ShuffleClient client(secret_, kAppId);
  RecordingReceiver rec(false);
  auto call = client.Start({address_, 1, 1, 0, 0, 0}, &rec);
  for (auto end = std::chrono::steady_clock::now() + kWait;
       source_.open_segments.load() == 0 && std::chrono::steady_clock::now() < end;) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(source_.open_segments.load(), 1);

  server_->Shutdown();
  EXPECT_EQ(source_.open_segments.load(), 0) << "a fetch still holds a segment after Shutdown";
  source_.closed = true;
  ASSERT_TRUE(rec.WaitFor([&] { return rec.ended; }));
  EXPECT_FALSE(rec.end.ok());
  EXPECT_EQ(source_.reads_after_close.load(), 0);
  EXPECT_EQ(rec.bytes, "");
}

size_t ThreadCount() {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    (void)e;
    ++n;
  }
  return n;
}

TEST_F(ShuffleTest, ManyConcurrentFetchesUseAFixedNumberOfThreads) {
  constexpr int kFetches = 200;
  for (int m = 0; m < kFetches; ++m) {
    source_.segments[{3, static_cast<uint32_t>(m), 0}] = RandomBytes(64 * 1024, m);
  }
  // Every read takes a while, so all fetches are in flight together.
  source_.read_delay = 20ms;
  ShuffleClient client(secret_, kAppId);
  const size_t before = ThreadCount();
  std::vector<std::unique_ptr<RecordingReceiver>> receivers;
  std::vector<std::unique_ptr<FetchCall>> calls;
  for (int m = 0; m < kFetches; ++m) {
    receivers.push_back(std::make_unique<RecordingReceiver>(false));
    calls.push_back(
        client.Start({address_, 3, static_cast<uint32_t>(m), 0, 0, 0}, receivers.back().get()));
  }
  size_t peak = 0;
  for (int m = 0; m < kFetches; ++m) {
    while (!receivers[m]->WaitFor([&] {
      peak = std::max(peak, ThreadCount());
      return receivers[m]->ended;
    })) {
    }
    EXPECT_TRUE(receivers[m]->end.ok()) << receivers[m]->end.ToString();
    EXPECT_TRUE(receivers[m]->bytes == (source_.segments[{3, static_cast<uint32_t>(m), 0}]));
  }
  // A thread per fetch would add 200; gRPC's own pools and the server's
  // read pool add a few dozen at most.
  EXPECT_LT(peak, before + 64) << "threads before: " << before << ", at the peak: " << peak;
}

}  // namespace
}  // namespace ember::transport
