#include "operator/kube/core/api_error.h"

#include "operator/kube/core/json_util.h"

namespace ember::kube {
namespace {

using nlohmann::json;

// A non-Status error body (an HTML page from a proxy, say) can be large; the
// start is enough to diagnose it.
constexpr size_t kMaxRawBodyInMessage = 512;

std::string DefaultReason(int http_code) {
  switch (http_code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return http_code >= 500 ? "InternalError" : "Unknown";
  }
}

}  // namespace

StatusCode CodeForHttp(int http_code, std::string_view reason) {
  switch (http_code) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? StatusCode::kAlreadyExists : StatusCode::kAborted;
    case 410:
      return StatusCode::kOutOfRange;
    case 422:
      return StatusCode::kInvalidArgument;
    case 429:
      return StatusCode::kResourceExhausted;
    case 500:
      return StatusCode::kInternal;
    case 504:
      return StatusCode::kDeadlineExceeded;
    default:
      break;
  }
  if (reason == "Expired" || reason == "Gone") return StatusCode::kOutOfRange;
  if (http_code >= 500) return StatusCode::kUnavailable;
  if (http_code >= 400) return StatusCode::kFailedPrecondition;
  return StatusCode::kUnknown;
}

Status ApiError::ToStatus() const {
  std::string text;
  if (http_code > 0) {
    text = (reason.empty() ? DefaultReason(http_code) : reason) + " (" + std::to_string(http_code) +
           "): " + message;
  } else {
    text = message;
  }
  return Status(code == StatusCode::kOk ? StatusCode::kUnknown : code, std::move(text));
}

ApiError ApiErrorFromStatusObject(const json& status, int fallback_http_code) {
  ApiError error;
  error.http_code = fallback_http_code;
  if (status.is_object()) {
    if (auto it = status.find("code"); it != status.end() && it->is_number_integer()) {
      error.http_code = it->get<int>();
    }
    if (auto it = status.find("reason"); it != status.end() && it->is_string()) {
      error.reason = it->get<std::string>();
    }
    if (auto it = status.find("message"); it != status.end() && it->is_string()) {
      error.message = it->get<std::string>();
    }
    if (auto it = status.find("details"); it != status.end()) error.details = *it;
  }
  if (error.reason.empty()) error.reason = DefaultReason(error.http_code);
  error.code = CodeForHttp(error.http_code, error.reason);
  return error;
}

ApiError ApiErrorFromResponse(int http_code, std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (StringAt(parsed, "kind") == "Status") {
    ApiError error = ApiErrorFromStatusObject(parsed, http_code);
    // The HTTP code is authoritative; the body's code is informational.
    error.http_code = http_code;
    error.code = CodeForHttp(http_code, error.reason);
    return error;
  }
  ApiError error;
  error.http_code = http_code;
  error.reason = DefaultReason(http_code);
  error.message = std::string(Utf8Prefix(body, kMaxRawBodyInMessage));
  error.code = CodeForHttp(http_code, error.reason);
  return error;
}

ApiError TransportError(std::string message) {
  ApiError error;
  error.message = std::move(message);
  error.code = StatusCode::kUnavailable;
  return error;
}

ApiError DecodeError(std::string message) {
  ApiError error;
  error.message = std::move(message);
  error.code = StatusCode::kDataLoss;
  return error;
}

ApiError ClientError(const Status& status) {
  ApiError error;
  error.message = status.message();
  error.code = status.ok() ? StatusCode::kUnknown : status.code();
  return error;
}

}  // namespace ember::kube
