#include "operator/kube/core/retry.h"

#include <charconv>
#include <cstdint>

namespace ember::kube {

bool IsRetryableHttpCode(int http_code) {
  return http_code == 429 || http_code >= 500;
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::milliseconds cap) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 0) {
    return std::nullopt;
  }
  const int64_t cap_seconds = std::chrono::duration_cast<std::chrono::seconds>(cap).count();
  if (seconds > cap_seconds) return cap;
  return std::chrono::milliseconds(seconds * 1000);
}

RetryDecision DecideRetry(int attempt, int max_retries, std::string_view method, int http_code,
                          std::optional<std::chrono::milliseconds> retry_after, Backoff* backoff) {
  if (attempt >= max_retries) return {};
  const bool read = method == "GET";
  bool retryable;
  if (http_code == 0) {
    retryable = read;
  } else if (http_code == 429) {
    // Rejected before it was processed (priority and fairness): safe for
    // any method.
    retryable = true;
  } else if (http_code >= 500) {
    // A write that got a 5xx may have been applied (a timeout after etcd
    // committed it), so it is repeated only when the server asks us to
    // come back with Retry-After.
    retryable = read || retry_after.has_value();
  } else {
    retryable = false;
  }
  if (!retryable) return {};
  // Only a server's answer carries Retry-After; without one, back off.
  if (http_code != 0 && retry_after) return {true, *retry_after};
  return {true, backoff->Next()};
}

}  // namespace ember::kube
