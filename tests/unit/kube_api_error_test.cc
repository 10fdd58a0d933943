// API errors keep the Status the server sent, and map onto ember's codes.
#include <gtest/gtest.h>

#include "operator/kube/core/api_error.h"

namespace ember::kube {
namespace {

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return nlohmann::json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                        {"code", code},     {"reason", reason},   {"message", message}}
      .dump();
}

struct Case {
  int http;
  std::string reason;
  StatusCode want;
};

TEST(ApiErrorTest, MapsHttpCodesAndReasons) {
  const Case cases[] = {
      {404, "NotFound", StatusCode::kNotFound},
      {409, "AlreadyExists", StatusCode::kAlreadyExists},
      {409, "Conflict", StatusCode::kAborted},
      {422, "Invalid", StatusCode::kInvalidArgument},
      {410, "Expired", StatusCode::kOutOfRange},
      {410, "Gone", StatusCode::kOutOfRange},
      {401, "Unauthorized", StatusCode::kUnauthenticated},
      {403, "Forbidden", StatusCode::kPermissionDenied},
      {429, "TooManyRequests", StatusCode::kResourceExhausted},
      {500, "InternalError", StatusCode::kInternal},
      {503, "ServiceUnavailable", StatusCode::kUnavailable},
      {504, "Timeout", StatusCode::kDeadlineExceeded},
  };
  for (const auto& c : cases) {
    ApiError error = ApiErrorFromResponse(c.http, StatusBody(c.http, c.reason, "msg"));
    EXPECT_EQ(error.http_code, c.http);
    EXPECT_EQ(error.reason, c.reason);
    EXPECT_EQ(error.message, "msg");
    EXPECT_EQ(error.ToStatus().code(), c.want) << c.http << " " << c.reason;
  }
}

TEST(ApiErrorTest, DistinguishesConflictFromAlreadyExists) {
  ApiError stale = ApiErrorFromResponse(409, StatusBody(409, "Conflict", "stale"));
  EXPECT_TRUE(stale.IsConflict());
  EXPECT_FALSE(stale.IsAlreadyExists());
  ApiError clash = ApiErrorFromResponse(409, StatusBody(409, "AlreadyExists", "exists"));
  EXPECT_TRUE(clash.IsAlreadyExists());
  EXPECT_FALSE(clash.IsConflict());
}

TEST(ApiErrorTest, WatchErrorEventWithExpiredIsGone) {
  auto status = nlohmann::json::parse(StatusBody(410, "Expired", "too old resource version"));
  ApiError error = ApiErrorFromStatusObject(status);
  EXPECT_TRUE(error.IsGone());
  EXPECT_EQ(error.http_code, 410);
  EXPECT_EQ(error.ToStatus().message(), "Expired (410): too old resource version");
}

TEST(ApiErrorTest, NonStatusBodyIsKeptTruncated) {
  std::string html(5000, 'x');
  ApiError error = ApiErrorFromResponse(502, html);
  EXPECT_EQ(error.reason, "InternalError");
  EXPECT_EQ(error.code, StatusCode::kUnavailable);
  EXPECT_LT(error.message.size(), html.size());
}

TEST(ApiErrorTest, TransportAndDecodeErrorsHaveNoHttpCode) {
  EXPECT_EQ(TransportError("refused").http_code, 0);
  EXPECT_EQ(TransportError("refused").ToStatus().code(), StatusCode::kUnavailable);
  EXPECT_EQ(DecodeError("bad").ToStatus().code(), StatusCode::kDataLoss);
}

ApiResult<int> Fails() {
  return ApiErrorFromResponse(404, StatusBody(404, "NotFound", "gone"));
}

Status UsesMacros(int* out) {
  ASSIGN_OR_RETURN(*out, Fails());
  return Status::Ok();
}

TEST(ApiResultTest, WorksWithTheStatusMacros) {
  int value = 0;
  Status status = UsesMacros(&value);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "NotFound (404): gone");
  ApiResult<int> ok = 5;
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(ok.status().ok());
  EXPECT_EQ(*ok, 5);
  ApiResult<int> bad = Fails();
  EXPECT_TRUE(bad.error().IsNotFound());
}

}  // namespace
}  // namespace ember::kube
