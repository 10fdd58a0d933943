#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace ember {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_json{false};
std::mutex g_mu;
std::string g_tag = "ember";  // guarded by g_mu

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARN";
    case LogLevel::kError: return "ERROR";
    case LogLevel::kOff: return "OFF";
  }
  return "?";
}

const char* JsonLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "?";
}

// JSON string body: quotes, backslashes and control characters escaped.
// Bytes >= 0x80 pass through, so UTF-8 stays readable.
void AppendJsonEscaped(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (u < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 0xf]);
    } else {
      out->push_back(c);
    }
  }
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

bool ParseLogLevel(std::string_view text, LogLevel* out) {
  if (text == "debug") *out = LogLevel::kDebug;
  else if (text == "info") *out = LogLevel::kInfo;
  else if (text == "warning" || text == "warn") *out = LogLevel::kWarning;
  else if (text == "error") *out = LogLevel::kError;
  else if (text == "off") *out = LogLevel::kOff;
  else return false;
  return true;
}

void SetLogFormat(LogFormat format) { g_json.store(format == LogFormat::kJson); }

bool ParseLogFormat(std::string_view text, LogFormat* out) {
  if (text == "text") *out = LogFormat::kText;
  else if (text == "json") *out = LogFormat::kJson;
  else return false;
  return true;
}

void SetLogTag(std::string_view tag) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_tag = std::string(tag);
}

void LogLine(LogLevel level, std::string_view message) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t secs = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  if (g_json.load(std::memory_order_relaxed)) {
    std::string line = "{\"ts\":\"";
    line += stamp;
    char frac[8];
    std::snprintf(frac, sizeof(frac), ".%03dZ", static_cast<int>(millis));
    line += frac;
    line += "\",\"level\":\"";
    line += JsonLevelName(level);
    line += "\",\"logger\":\"";
    std::lock_guard<std::mutex> lock(g_mu);
    AppendJsonEscaped(&line, g_tag);
    line += "\",\"msg\":\"";
    AppendJsonEscaped(&line, message);
    line += "\"}\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
    return;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  std::fprintf(stderr, "%s.%03dZ %s %s: %.*s\n", stamp, static_cast<int>(millis), LevelName(level),
               g_tag.c_str(), static_cast<int>(message.size()), message.data());
}

}  // namespace ember
