#include "runtime/transport/grpc_status.h"

namespace ember::transport {
namespace {
// Both enums share gRPC's numbering; this is the highest code either knows.
constexpr int kMaxCode = static_cast<int>(StatusCode::kUnauthenticated);
static_assert(kMaxCode == grpc::StatusCode::UNAUTHENTICATED);
static_assert(static_cast<int>(StatusCode::kDataLoss) == grpc::StatusCode::DATA_LOSS);
static_assert(static_cast<int>(StatusCode::kInvalidArgument) == grpc::StatusCode::INVALID_ARGUMENT);
}  // namespace

grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const int code = static_cast<int>(status.code());
  if (code < 0 || code > kMaxCode) return grpc::Status(grpc::StatusCode::UNKNOWN, status.message());
  return grpc::Status(static_cast<grpc::StatusCode>(code), status.message());
}

Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return Status::Ok();
  const int code = static_cast<int>(status.error_code());
  if (code <= 0 || code > kMaxCode) return UnknownError(status.error_message());
  return Status(static_cast<StatusCode>(code), status.error_message());
}

}  // namespace ember::transport
