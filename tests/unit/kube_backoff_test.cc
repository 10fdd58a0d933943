// Backoff policies and the retry rules of the client.
#include <optional>
#include <set>

#include <gtest/gtest.h>

#include "operator/kube/core/backoff.h"
#include "operator/kube/core/retry.h"

namespace ember::kube {
namespace {

using std::chrono::milliseconds;

TEST(ExponentialBackoffTest, DoublesFromMinToMaxWithoutJitter) {
  ExponentialBackoff backoff({milliseconds(800), milliseconds(30000), 2.0, 0.0, 1});
  const int64_t want[] = {800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
  for (int64_t w : want) EXPECT_EQ(backoff.Next().count(), w);
  backoff.Reset();
  EXPECT_EQ(backoff.Next().count(), 800);
}

TEST(ExponentialBackoffTest, JitterStaysWithinItsBandAndVaries) {
  ExponentialBackoff backoff({milliseconds(1000), milliseconds(1000000), 2.0, 0.5, 42});
  int64_t base = 1000;
  std::set<int64_t> seen;
  for (int i = 0; i < 10; ++i) {
    int64_t d = backoff.Next().count();
    EXPECT_GE(d, base / 2);
    EXPECT_LE(d, base * 3 / 2);
    seen.insert(d * 1000 / base);
    base *= 2;
  }
  EXPECT_GT(seen.size(), 1u);
}

TEST(ExponentialBackoffTest, NeverExceedsMaxEvenWithJitter) {
  ExponentialBackoff backoff({milliseconds(800), milliseconds(30000), 2.0, 0.5, 7});
  for (int i = 0; i < 50; ++i) EXPECT_LE(backoff.Next().count(), 30000);
}

TEST(ResetTimerBackoffTest, StartsOverAfterAHealthyPeriod) {
  auto now = std::chrono::steady_clock::time_point{};
  ResetTimerBackoff backoff(std::make_unique<ExponentialBackoff>(ExponentialBackoff::Options{
                                milliseconds(100), milliseconds(10000), 2.0, 0.0, 1}),
                            milliseconds(120000), [&now] { return now; });
  EXPECT_EQ(backoff.Next().count(), 100);
  now += milliseconds(1000);
  EXPECT_EQ(backoff.Next().count(), 200);
  now += milliseconds(119000);  // exactly the period: not more than it
  EXPECT_EQ(backoff.Next().count(), 400);
  now += milliseconds(120001);
  EXPECT_EQ(backoff.Next().count(), 100);
}

TEST(RetryTest, RetriesTooManyRequestsAndServerErrorsOnly) {
  for (int code : {429, 500, 502, 503, 504}) EXPECT_TRUE(IsRetryableHttpCode(code)) << code;
  for (int code : {200, 400, 401, 403, 404, 409, 410, 422}) {
    EXPECT_FALSE(IsRetryableHttpCode(code)) << code;
  }
}

TEST(RetryTest, ParsesRetryAfterSecondsAndCapsIt) {
  EXPECT_EQ(ParseRetryAfter("3"), milliseconds(3000));
  EXPECT_EQ(ParseRetryAfter(" 0 "), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("86400"), milliseconds(60000));
  EXPECT_EQ(ParseRetryAfter("10", milliseconds(5000)), milliseconds(5000));
  EXPECT_EQ(ParseRetryAfter(""), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-1"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("1.5"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
}

}  // namespace
}  // namespace ember::kube

namespace ember::kube {
namespace {

struct RetryCase {
  const char* name;
  int attempt;
  std::string method;
  int http_code;
  std::optional<std::chrono::milliseconds> retry_after;
  bool want_retry;
  int64_t want_delay_ms;  // -1: from the backoff
};

TEST(DecideRetryTest, Table) {
  using std::chrono::milliseconds;
  const RetryCase cases[] = {
      {"429 honours Retry-After", 0, "POST", 429, milliseconds(3000), true, 3000},
      {"429 on a write without Retry-After backs off", 0, "POST", 429, std::nullopt, true, -1},
      {"503 on GET without Retry-After backs off", 1, "GET", 503, std::nullopt, true, -1},
      {"500 on a write is not retried", 0, "POST", 500, std::nullopt, false, 0},
      {"503 on a write without Retry-After is not", 1, "PUT", 503, std::nullopt, false, 0},
      {"503 on a write with Retry-After is", 0, "PATCH", 503, milliseconds(2000), true, 2000},
      {"no response on GET is retried", 0, "GET", 0, std::nullopt, true, -1},
      {"no response on a write is not", 0, "POST", 0, std::nullopt, false, 0},
      {"no response ignores a stray Retry-After", 0, "GET", 0, milliseconds(9000), true, -1},
      {"409 is an answer", 0, "PUT", 409, std::nullopt, false, 0},
      {"404 is an answer", 0, "GET", 404, std::nullopt, false, 0},
      {"410 is an answer", 0, "GET", 410, std::nullopt, false, 0},
      {"retries exhausted", 5, "GET", 503, milliseconds(1000), false, 0},
  };
  for (const auto& c : cases) {
    ExponentialBackoff backoff({milliseconds(100), milliseconds(10000), 2.0, 0.0, 1});
    RetryDecision d = DecideRetry(c.attempt, 5, c.method, c.http_code, c.retry_after, &backoff);
    EXPECT_EQ(d.retry, c.want_retry) << c.name;
    if (!c.want_retry) continue;
    EXPECT_EQ(d.delay.count(), c.want_delay_ms < 0 ? 100 : c.want_delay_ms) << c.name;
  }
}

}  // namespace
}  // namespace ember::kube
