// Minimal leveled logging to stderr, safe to call from any thread.
//
// Lines look like "2026-11-26T19:40:01.123Z INFO driver: message". The level
// is set once at start-up from --log-level or EMBER_LOG_LEVEL.
#pragma once

#include <sstream>
#include <string_view>

namespace ember {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warning", "error", "off"; false on anything else.
bool ParseLogLevel(std::string_view text, LogLevel* out);
// Sets the tag printed after the level, e.g. "driver" or "executor-2".
void SetLogTag(std::string_view tag);
void LogLine(LogLevel level, std::string_view message);

namespace internal {
class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { LogLine(level_, stream_.str()); }
  std::ostringstream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Turns the stream expression into void so EMBER_LOG can be a conditional
// expression, which is safe inside an unbraced if/else.
struct LogVoidify {
  void operator&(std::ostream&) {}
};
}  // namespace internal

}  // namespace ember

#define EMBER_LOG(level)                                    \
  (::ember::LogLevel::level < ::ember::GetLogLevel())       \
      ? (void)0                                             \
      : ::ember::internal::LogVoidify() &                   \
            ::ember::internal::LogMessage(::ember::LogLevel::level).stream()
