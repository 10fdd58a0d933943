#include "runtime/transport/internal/rpc_util.h"

#include <grpc/grpc.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>

#include "common/log.h"
#include "runtime/metrics/metrics.h"
#include "runtime/transport/auth.h"
#include "runtime/transport/grpc_status.h"

namespace ember::transport::internal {
namespace {
// Clients ping idle connections so a vanished peer is noticed even when the
// application is quiet; servers must allow pings at least that often.
constexpr int kKeepaliveTimeMs = 30'000;
constexpr int kKeepaliveTimeoutMs = 10'000;
constexpr int kMinPingIntervalMs = 20'000;
}  // namespace

grpc::ChannelArguments ClientChannelArgs() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Each ShuffleClient/DriverClient channel is its own connection; sharing a
  // subchannel with an unrelated channel would couple their lifetimes.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

void ConfigureServer(grpc::ServerBuilder* builder, int max_receive_bytes) {
  builder->SetMaxReceiveMessageSize(max_receive_bytes);
  builder->SetMaxSendMessageSize(kMaxMessageBytes);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                              kMinPingIntervalMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // The server pings too: a frozen or partitioned executor otherwise keeps a
  // write pending until TCP gives up (many minutes), and a Close() of its
  // stream (heartbeat timeout) only completes once that write fails.
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
}

Result<std::unique_ptr<grpc::Server>> StartServer(const std::string& what,
                                                  const std::string& bind_address, int port,
                                                  const std::string& secret, int max_receive_bytes,
                                                  grpc::Service* service, int* bound_port) {
  if (secret.empty()) return InvalidArgumentError(what + " needs an application secret");
  if (bind_address == "0.0.0.0" || bind_address == "::") {
    EMBER_LOG(kWarning) << what << " listens on all interfaces without TLS; only the "
                        << "application secret protects it";
  }
  const std::string address = JoinHostPort(bind_address, port);
  grpc::ServerBuilder builder;
  // The shared secret is the authentication; TLS is future work, hence
  // insecure transport credentials.
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), bound_port);
  builder.RegisterService(service);
  ConfigureServer(&builder, max_receive_bytes);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *bound_port == 0) {
    return UnavailableError(what + " could not listen on " + address);
  }
  EMBER_LOG(kInfo) << what << " listening on " << JoinHostPort(bind_address, *bound_port);
  return server;
}

std::string JoinHostPort(const std::string& host, int port) {
  if (host.find(':') != std::string::npos && host.front() != '[') {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

grpc::Status CheckSecret(const grpc::CallbackServerContext& ctx, const std::string& secret,
                         Metrics* metrics, std::string_view rpc) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(grpc::string_ref(kSecretMetadataKey.data(), kSecretMetadataKey.size()));
  if (it != md.end() && !secret.empty() &&
      SecretsEqual(std::string_view(it->second.data(), it->second.size()), secret)) {
    return grpc::Status::OK;
  }
  if (metrics != nullptr) metrics->auth_failures_total->Increment();
  EMBER_LOG(kWarning) << "refused " << rpc << " from " << ctx.peer() << ": "
                      << (it == md.end() ? "no" : "wrong") << " application secret";
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or wrong application secret");
}

void PrepareClientContext(grpc::ClientContext* ctx, const std::string& secret,
                          std::chrono::seconds deadline) {
  ctx->AddMetadata(std::string(kSecretMetadataKey), secret);
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
}

}  // namespace ember::transport::internal
