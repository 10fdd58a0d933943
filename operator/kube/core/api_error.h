// Errors from the Kubernetes API, kept with the detail the API gives.
//
// The API server answers a failed request with a Status object
// ({"kind":"Status","code":409,"reason":"Conflict","message":...}); a watch
// reports one as an ERROR event. ApiError keeps its code, reason and message,
// so a caller can tell a stale resourceVersion (409 Conflict) from a name
// clash (409 AlreadyExists), and ApiResult<T> carries either a value or an
// ApiError. ApiResult has the ok()/status()/value() shape of ember::Result,
// so RETURN_IF_ERROR and ASSIGN_OR_RETURN work on it; status() maps the HTTP
// code onto ember's canonical codes:
//
//   400 BadRequest -> kInvalidArgument   401 -> kUnauthenticated
//   403 Forbidden  -> kPermissionDenied  404 NotFound -> kNotFound
//   409 AlreadyExists -> kAlreadyExists  409 Conflict -> kAborted
//   410 Gone/Expired -> kOutOfRange      422 Invalid -> kInvalidArgument
//   429 -> kResourceExhausted            504 -> kDeadlineExceeded
//   other 5xx -> kUnavailable (500: kInternal)
//   no response at all (connection, TLS, timeout) -> kUnavailable
//   a body that cannot be parsed -> kDataLoss
//
// Thread-safety: plain values.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "ember/status.h"

namespace ember::kube {

struct ApiError {
  // The HTTP status; 0 when no response arrived (transport failure) and for
  // failures of the client itself (a malformed body).
  int http_code = 0;
  // The API's machine-readable reason: "NotFound", "Conflict",
  // "AlreadyExists", "Invalid", "Expired", "Gone", "TooManyRequests"...
  std::string reason;
  std::string message;
  // The Status's "details" (causes of a 422, the kind and name involved).
  nlohmann::json details;
  // The canonical code; derived from http_code and reason unless overridden
  // (transport and decoding failures set it directly).
  StatusCode code = StatusCode::kUnknown;

  bool IsNotFound() const { return http_code == 404; }
  bool IsAlreadyExists() const { return http_code == 409 && reason == "AlreadyExists"; }
  // A write lost an optimistic-concurrency race (stale resourceVersion).
  bool IsConflict() const { return http_code == 409 && reason != "AlreadyExists"; }
  bool IsInvalid() const { return http_code == 422; }
  // The requested resourceVersion is older than the server keeps: re-list.
  bool IsGone() const { return http_code == 410 || reason == "Expired" || reason == "Gone"; }

  // "Conflict (409): Operation cannot be fulfilled on ..." with the mapped code.
  Status ToStatus() const;
};

// The canonical code for an HTTP status and API reason.
StatusCode CodeForHttp(int http_code, std::string_view reason);

// Builds an ApiError from a failed response; uses the Status object in the
// body when there is one, the raw body (truncated) otherwise.
ApiError ApiErrorFromResponse(int http_code, std::string_view body);
// Builds an ApiError from a Status object, e.g. a watch's ERROR event.
ApiError ApiErrorFromStatusObject(const nlohmann::json& status, int fallback_http_code = 500);
// No HTTP response: connection refused, TLS failure, timeout, reset.
ApiError TransportError(std::string message);
// The response arrived but its body is not what the API promises.
ApiError DecodeError(std::string message);
// A failure of the client before any request was sent (bad arguments).
ApiError ClientError(const Status& status);

// Either a T or an ApiError. Mirrors ember::Result<T>.
template <typename T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  ApiResult(ApiError error) : status_(error.ToStatus()), v_(std::move(error)) {}  // NOLINT
  ApiResult(const Status& status) : ApiResult(ClientError(status)) {}             // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK, or the error mapped onto ember's codes.
  const Status& status() const { return status_; }
  // Precondition: !ok().
  const ApiError& error() const { return std::get<ApiError>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::variant<T, ApiError> v_;
};

}  // namespace ember::kube
