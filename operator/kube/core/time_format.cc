#include "operator/kube/core/time_format.h"

#include <cstdint>
#include <cstdio>
#include <ctime>

namespace ember::kube {
namespace {

std::tm Utc(int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  return utc;
}

}  // namespace

std::string FormatMicroTime(std::chrono::system_clock::time_point time) {
  const int64_t micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  const std::tm utc = Utc(micros / 1000000);
  char seconds[32];
  std::strftime(seconds, sizeof(seconds), "%Y-%m-%dT%H:%M:%S", &utc);
  char fraction[16];
  std::snprintf(fraction, sizeof(fraction), ".%06dZ", static_cast<int>(micros % 1000000));
  return std::string(seconds) + fraction;
}

std::string FormatTime(std::chrono::system_clock::time_point time) {
  const int64_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
  const std::tm utc = Utc(seconds);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

}  // namespace ember::kube
