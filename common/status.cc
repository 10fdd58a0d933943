#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace ember {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "CANCELLED";
    case StatusCode::kUnknown: return "UNKNOWN";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kAborted: return "ABORTED";
    case StatusCode::kOutOfRange: return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDataLoss: return "DATA_LOSS";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(StatusCodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

#define EMBER_DEFINE_ERROR(name, code) \
  Status name(std::string message) { return Status(StatusCode::code, std::move(message)); }
EMBER_DEFINE_ERROR(InvalidArgumentError, kInvalidArgument)
EMBER_DEFINE_ERROR(NotFoundError, kNotFound)
EMBER_DEFINE_ERROR(AlreadyExistsError, kAlreadyExists)
EMBER_DEFINE_ERROR(FailedPreconditionError, kFailedPrecondition)
EMBER_DEFINE_ERROR(InternalError, kInternal)
EMBER_DEFINE_ERROR(UnavailableError, kUnavailable)
EMBER_DEFINE_ERROR(DataLossError, kDataLoss)
EMBER_DEFINE_ERROR(UnauthenticatedError, kUnauthenticated)
EMBER_DEFINE_ERROR(PermissionDeniedError, kPermissionDenied)
EMBER_DEFINE_ERROR(DeadlineExceededError, kDeadlineExceeded)
EMBER_DEFINE_ERROR(AbortedError, kAborted)
EMBER_DEFINE_ERROR(CancelledError, kCancelled)
EMBER_DEFINE_ERROR(OutOfRangeError, kOutOfRange)
EMBER_DEFINE_ERROR(UnknownError, kUnknown)
EMBER_DEFINE_ERROR(ResourceExhaustedError, kResourceExhausted)
EMBER_DEFINE_ERROR(UnimplementedError, kUnimplemented)
#undef EMBER_DEFINE_ERROR

Status ErrnoError(std::string_view what, int err) {
  StatusCode code = StatusCode::kInternal;
  switch (err) {
    case ENOENT: code = StatusCode::kNotFound; break;
    case EEXIST: code = StatusCode::kAlreadyExists; break;
    case EACCES:
    case EPERM: code = StatusCode::kPermissionDenied; break;
    case ENOSPC: code = StatusCode::kResourceExhausted; break;
    case EINVAL: code = StatusCode::kInvalidArgument; break;
    default: break;
  }
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return Status(code, std::move(msg));
}

}  // namespace ember
