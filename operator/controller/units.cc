#include "operator/controller/units.h"

#include <cctype>
#include <charconv>
#include <cmath>

namespace ember::sparkapp {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

Status Invalid(std::string_view field, std::string_view text, std::string_view why) {
  return InvalidArgumentError(std::string(field) + ": invalid value '" + std::string(text) +
                              "': " + std::string(why));
}

}  // namespace

Result<uint64_t> ParseMemory(std::string_view text, std::string_view field) {
  constexpr std::string_view kForms = "expected a size with a unit: 512m, 2g, 512Mi or 2Gi";
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return Invalid(field, text, "too large");
  if (ec != std::errc() || ptr == text.data()) return Invalid(field, text, kForms);
  if (value == 0) return Invalid(field, text, "must be positive");
  std::string_view unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  if (unit.empty()) return Invalid(field, text, kForms);
  int shift = -1;
  const char letter = static_cast<char>(std::tolower(static_cast<unsigned char>(unit[0])));
  switch (letter) {
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    case 't': shift = 40; break;
    default: break;
  }
  const bool spark = unit.size() == 1 || (unit.size() == 2 && (unit[1] == 'b' || unit[1] == 'B'));
  const bool binary = unit.size() == 2 && unit[1] == 'i' && std::isupper(static_cast<unsigned char>(unit[0]));
  if (shift < 0 || !(spark || binary)) {
    return Invalid(field, text, "unknown unit '" + std::string(unit) + "' (" + std::string(kForms) + ")");
  }
  if (value > (UINT64_MAX >> shift)) return Invalid(field, text, "too large");
  return value << shift;
}

std::string FormatMemory(uint64_t bytes) {
  if (bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "Mi";
  return std::to_string(bytes);
}

Result<int64_t> ParseCpuMillis(std::string_view text, std::string_view field) {
  constexpr std::string_view kForms = "expected a CPU amount such as 500m, 1 or 2.5";
  if (text.empty()) return Invalid(field, text, kForms);
  if (text.back() == 'm') {
    int64_t millis = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, millis);
    if (ec != std::errc() || ptr != text.data() + text.size() - 1) return Invalid(field, text, kForms);
    if (millis <= 0) return Invalid(field, text, "must be positive");
    return millis;
  }
  // Whole and fractional parts, to a millicore; no float rounding surprises.
  const size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() && frac.empty()) return Invalid(field, text, kForms);
  int64_t w = 0;
  if (!whole.empty()) {
    auto [ptr, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), w);
    if (ec != std::errc() || ptr != whole.data() + whole.size()) return Invalid(field, text, kForms);
  }
  if (dot != std::string_view::npos && frac.empty()) return Invalid(field, text, kForms);
  int64_t f = 0;
  int64_t scale = 100;
  for (char c : frac) {
    if (c < '0' || c > '9') return Invalid(field, text, kForms);
    if (scale == 0) {
      if (c != '0') return Invalid(field, text, "finer than a millicore");
      continue;
    }
    f += (c - '0') * scale;
    scale /= 10;
  }
  if (w > INT64_MAX / 1000 - 1) return Invalid(field, text, "too large");
  const int64_t millis = w * 1000 + f;
  if (millis <= 0) return Invalid(field, text, "must be positive");
  return millis;
}

std::string FormatCpuMillis(int64_t millis) {
  if (millis % 1000 == 0) return std::to_string(millis / 1000);
  return std::to_string(millis) + "m";
}

}  // namespace ember::sparkapp
