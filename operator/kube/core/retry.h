// Which responses to retry, and how long the server asks us to wait.
//
// 429 (the API server's priority-and-fairness or a webhook throttling us) and
// 5xx (an API server restarting, an etcd leader election) are transient; the
// request is retried with backoff (a write after a 5xx only on Retry-After,
// see DecideRetry), and a Retry-After header overrides the backoff's delay.
// Everything else is an answer and goes back to the caller.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "operator/kube/core/backoff.h"

namespace ember::kube {

bool IsRetryableHttpCode(int http_code);

// Parses a Retry-After value given in seconds (the API server's form); the
// HTTP-date form and garbage give nullopt. Values above `cap` are capped so
// that a confused server cannot park a client for a day.
std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::milliseconds cap = std::chrono::seconds(60));

// What to do after attempt number `attempt` (0-based) of a request failed.
// `http_code` is 0 when no response arrived at all. Retries 429 for every
// method; 5xx for GET, and for writes only when the server sent
// Retry-After (a write answered with a 5xx may have been applied); a missing
// response only for GET (a write may have been applied before the
// connection broke); and never more than `max_retries` times. The delay is `retry_after` when the
// server sent one, the backoff's next delay otherwise.
struct RetryDecision {
  bool retry = false;
  std::chrono::milliseconds delay{0};
};
RetryDecision DecideRetry(int attempt, int max_retries, std::string_view method, int http_code,
                          std::optional<std::chrono::milliseconds> retry_after, Backoff* backoff);

}  // namespace ember::kube
