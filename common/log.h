// Minimal leveled logging to stderr, safe to call from any thread.
//
// Text lines look like "2026-11-26T19:40:01.123Z INFO driver: message"; the
// JSON format (for log collectors, the operator's default) writes one object
// per line: {"ts":"2026-11-26T19:40:01.123Z","level":"info","logger":"driver",
// "msg":"message"}. Level and format are set once at start-up.
#pragma once

#include <sstream>
#include <string_view>

namespace ember {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };
enum class LogFormat { kText, kJson };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warning", "error", "off"; false on anything else.
bool ParseLogLevel(std::string_view text, LogLevel* out);
void SetLogFormat(LogFormat format);
// Parses "text" or "json"; false on anything else.
bool ParseLogFormat(std::string_view text, LogFormat* out);
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
