#include "operator/kube/core/watch_event.h"

#include <algorithm>

#include "operator/kube/core/json_util.h"

namespace ember::kube {
namespace {

using nlohmann::json;

constexpr size_t kMaxLineInMessage = 120;

bool ParseType(std::string_view text, WatchEventType* type) {
  static constexpr std::pair<std::string_view, WatchEventType> kTypes[] = {
      {"ADDED", WatchEventType::kAdded},     {"MODIFIED", WatchEventType::kModified},
      {"DELETED", WatchEventType::kDeleted}, {"BOOKMARK", WatchEventType::kBookmark},
      {"ERROR", WatchEventType::kError},
  };
  for (const auto& [name, value] : kTypes) {
    if (name == text) {
      *type = value;
      return true;
    }
  }
  return false;
}

std::string Excerpt(std::string_view line) {
  if (line.size() <= kMaxLineInMessage) return std::string(line);
  return std::string(Utf8Prefix(line, kMaxLineInMessage)) + "...";
}

}  // namespace

std::string_view WatchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "UNKNOWN";
}

Result<WatchEvent> ParseWatchEvent(std::string_view line) {
  json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return DataLossError("malformed watch event: " + Excerpt(line));
  }
  if (!parsed.is_object()) return DataLossError("watch event is not an object: " + Excerpt(line));
  auto type = parsed.find("type");
  auto object = parsed.find("object");
  if (type == parsed.end() || !type->is_string()) {
    return DataLossError("watch event without a type: " + Excerpt(line));
  }
  WatchEvent event;
  if (!ParseType(type->get_ref<const std::string&>(), &event.type)) {
    return DataLossError("unknown watch event type \"" + type->get<std::string>() + "\"");
  }
  if (object == parsed.end() || !object->is_object()) {
    return DataLossError("watch event without an object: " + Excerpt(line));
  }
  event.object = std::move(*object);
  return event;
}

Status WatchEventDecoder::Feed(std::string_view chunk, std::vector<WatchEvent>* events) {
  if (!error_.ok()) return error_;
  while (!chunk.empty()) {
    size_t newline = chunk.find('\n');
    if (newline == std::string_view::npos) {
      if (buffer_.size() + chunk.size() > max_event_bytes_) {
        error_ =
            DataLossError("watch event exceeds " + std::to_string(max_event_bytes_) + " bytes");
        return error_;
      }
      buffer_.append(chunk);
      return Status::Ok();
    }
    std::string_view line;
    if (buffer_.empty()) {
      line = chunk.substr(0, newline);
    } else {
      buffer_.append(chunk.substr(0, newline));
      line = buffer_;
    }
    if (line.size() > max_event_bytes_) {
      error_ = DataLossError("watch event exceeds " + std::to_string(max_event_bytes_) + " bytes");
      return error_;
    }
    // Blank lines (and a CR of a CRLF) carry no event.
    const bool blank = std::all_of(line.begin(), line.end(),
                                   [](char c) { return c == ' ' || c == '\r' || c == '\t'; });
    if (!blank) {
      Result<WatchEvent> event = ParseWatchEvent(line);
      if (!event.ok()) {
        error_ = event.status();
        return error_;
      }
      events->push_back(std::move(event).value());
    }
    buffer_.clear();
    chunk.remove_prefix(newline + 1);
  }
  return Status::Ok();
}

Status WatchEventDecoder::Finish() {
  if (!error_.ok()) return error_;
  const bool blank = std::all_of(buffer_.begin(), buffer_.end(),
                                 [](char c) { return c == ' ' || c == '\r' || c == '\t'; });
  if (blank) return Status::Ok();
  // The API server ends every event with a newline, so bytes without one are
  // a cut-off event even when they happen to parse.
  Status status = DataLossError("watch stream ended inside an event (" +
                                std::to_string(buffer_.size()) + " bytes buffered)");
  error_ = status;
  return status;
}

}  // namespace ember::kube
