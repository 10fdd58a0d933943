// Strangers against the real servers: a client without the application
// secret sends huge requests to a running ember-driver and ember-executor,
// and the servers refuse them without reading them (their resident memory
// does not grow). An authenticated client's oversized request to the
// shuffle server is refused by its message size limit.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "external_cluster.h"
#include "runtime/proto/ember.grpc.pb.h"

namespace ember::testing {
namespace {

constexpr size_t kHugeBytes = size_t{200} << 20;
constexpr int kAttackers = 3;

std::shared_ptr<grpc::Channel> Channel(int port) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(1 << 30);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials(), args);
}

void SetDeadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
}

class HardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<ExternalCluster>(
        "it-hardening", 1, std::vector<std::string>{},
        std::vector<std::string>{"save", "100", "1", "0", work_.path(), work_.path() + "/out", "0",
                                 work_.path() + "/go"});
    port_ = cluster_->WaitForPort();
    ASSERT_TRUE(port_.has_value()) << cluster_->driver().Wait(std::chrono::seconds(1)).Describe();
    executor_ = &cluster_->StartExecutor(*port_, "1");
    // The job fails on purpose (record 0 throws) and the driver then waits
    // for the go file: both servers are up and idle meanwhile.
    ASSERT_TRUE(WaitUntil([&] {
      return cluster_->driver().Stdout().find("save_error") != std::string::npos ||
             !cluster_->driver().running();
    }));
    ASSERT_TRUE(cluster_->driver().running());
    shuffle_port_ = NumberAfter(executor_->Stderr(), "shuffle server listening on 127.0.0.1:");
    ASSERT_TRUE(shuffle_port_.has_value()) << executor_->Stderr();
  }
  void TearDown() override {
    WriteFileOrDie(work_.path() + "/go", "");
    if (cluster_) (void)cluster_->driver().Wait();
  }

  // Runs `attack` from several threads at once and checks the statuses and
  // the growth of `pid`'s resident memory.
  void ExpectRefusedWithoutGrowth(pid_t pid, const std::function<grpc::Status()>& attack,
                                  grpc::StatusCode expected) {
    const long before = static_cast<long>(ProcessMemoryBytes(pid, "VmRSS").value_or(-1));
    ASSERT_GT(before, 0);
    std::vector<grpc::Status> results(kAttackers);
    std::vector<std::thread> threads;
    for (int i = 0; i < kAttackers; ++i) threads.emplace_back([&, i] { results[i] = attack(); });
    for (auto& t : threads) t.join();
    const long after = static_cast<long>(ProcessMemoryBytes(pid, "VmRSS").value_or(-1));
    for (const grpc::Status& st : results) {
      EXPECT_EQ(st.error_code(), expected) << st.error_message();
    }
    // Reading the requests would have cost kAttackers x 200 MB.
    EXPECT_LT(after - before, long{32} << 20)
        << "resident memory grew from " << before << " to " << after << " bytes";
  }

  TempDir work_{"ember-hardening"};
  std::unique_ptr<ExternalCluster> cluster_;
  std::optional<int> port_;
  std::optional<int> shuffle_port_;
  Process* executor_ = nullptr;
};

TEST_F(HardeningTest, DriverRefusesHugeUnauthenticatedRequestsUnread) {
  const std::string huge(kHugeBytes, 'x');
  auto channel = Channel(*port_);
  auto stub = proto::Driver::NewStub(channel);
  ExpectRefusedWithoutGrowth(
      cluster_->driver().pid(),
      [&] {
        grpc::ClientContext ctx;
        SetDeadline(&ctx);
        proto::FetchApplicationRequest req;
        req.set_app_id(huge);
        auto stream = stub->FetchApplication(&ctx);
        stream->Write(req);
        stream->WritesDone();
        proto::Chunk chunk;
        while (stream->Read(&chunk)) {
        }
        return stream->Finish();
      },
      grpc::StatusCode::UNAUTHENTICATED);
  ExpectRefusedWithoutGrowth(
      cluster_->driver().pid(),
      [&] {
        grpc::ClientContext ctx;
        SetDeadline(&ctx);
        proto::ExecutorMessage msg;
        msg.mutable_register_()->set_app_id(huge);
        auto stream = stub->Connect(&ctx);
        stream->Write(msg);
        stream->WritesDone();
        proto::DriverMessage reply;
        while (stream->Read(&reply)) {
        }
        return stream->Finish();
      },
      grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(HardeningTest, ShuffleServerRefusesHugeUnauthenticatedRequestsUnread) {
  const std::string huge(kHugeBytes, 'x');
  auto stub = proto::Shuffle::NewStub(Channel(*shuffle_port_));
  ExpectRefusedWithoutGrowth(
      executor_->pid(),
      [&] {
        grpc::ClientContext ctx;
        SetDeadline(&ctx);
        proto::FetchBlocksRequest req;
        req.set_app_id(huge);
        auto stream = stub->FetchBlocks(&ctx);
        stream->Write(req);
        stream->WritesDone();
        proto::Chunk chunk;
        while (stream->Read(&chunk)) {
        }
        return stream->Finish();
      },
      grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(HardeningTest, ShuffleServerLimitsRequestsToWhatAFetchNeeds) {
  auto stub = proto::Shuffle::NewStub(Channel(*shuffle_port_));
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  ctx.AddMetadata("x-ember-secret", ReadFileOrEmpty(cluster_->secret_file()));
  proto::FetchBlocksRequest req;
  req.set_app_id(std::string(1 << 20, 'x'));
  auto stream = stub->FetchBlocks(&ctx);
  stream->Write(req);
  stream->WritesDone();
  proto::Chunk chunk;
  while (stream->Read(&chunk)) {
  }
  const grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
}

}  // namespace
}  // namespace ember::testing
