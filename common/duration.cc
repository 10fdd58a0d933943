#include "common/duration.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace ember {
namespace {

Status Invalid(std::string_view what, std::string_view text, std::string_view why) {
  return InvalidArgumentError(std::string(what) + ": invalid value '" + std::string(text) + "': " +
                              std::string(why));
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string_view what) {
  constexpr std::string_view kForms = "expected a duration such as 90s, 5m or 2h30m";
  if (text.empty()) return Invalid(what, text, kForms);
  double total_ms = 0;
  size_t at = 0;
  while (at < text.size()) {
    const size_t start = at;
    while (at < text.size() && (std::isdigit(static_cast<unsigned char>(text[at])) || text[at] == '.')) {
      ++at;
    }
    if (at == start) return Invalid(what, text, kForms);
    double number = 0;
    auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + at, number);
    if (ec != std::errc() || ptr != text.data() + at) return Invalid(what, text, kForms);
    double unit_ms = 0;
    if (text.substr(at, 2) == "ms") {
      unit_ms = 1;
      at += 2;
    } else if (at < text.size() && text[at] == 's') {
      unit_ms = 1000;
      ++at;
    } else if (at < text.size() && text[at] == 'm') {
      unit_ms = 60'000;
      ++at;
    } else if (at < text.size() && text[at] == 'h') {
      unit_ms = 3'600'000;
      ++at;
    } else {
      return Invalid(what, text, std::string(kForms) + " (units ms, s, m, h)");
    }
    total_ms += number * unit_ms;
  }
  // A year and a bit: far beyond any timeout, and far from overflow.
  constexpr double kMaxMs = 400.0 * 24 * 3600 * 1000;
  if (!std::isfinite(total_ms) || total_ms > kMaxMs) return Invalid(what, text, "too long");
  if (total_ms < 1) return Invalid(what, text, "must be at least 1ms");
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

}  // namespace ember
