// Conversion between ember::Status and grpc::Status.
//
// ember::StatusCode values equal gRPC's canonical codes, so the conversion
// keeps the code and the message unchanged; an unknown numeric code becomes
// UNKNOWN rather than an out-of-range enum.
//
// Thread-safety: pure functions.
#pragma once

#include <grpcpp/support/status.h>

#include "ember/status.h"

namespace ember::transport {

grpc::Status ToGrpcStatus(const Status& status);
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace ember::transport
