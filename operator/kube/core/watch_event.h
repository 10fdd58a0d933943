// Watch events and the incremental decoder for a watch stream.
//
// A watch response is a chunked stream of JSON objects, one per line:
//   {"type":"ADDED","object":{...}}\n{"type":"MODIFIED","object":{...}}\n
// Chunk boundaries fall anywhere, including inside an event, so the decoder
// buffers until a newline. Anything that is not a well-formed event (bad
// JSON, an unknown type, a line longer than the limit, or a stream that ends
// in the middle of a line) is an error: the watch that produced it must be
// abandoned and restarted, never half-applied.
//
// Thread-safety: WatchEventDecoder is not thread-safe; one decoder serves one
// stream. ParseWatchEvent is pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ember/status.h"

namespace ember::kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

std::string_view WatchEventTypeName(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  // The object; for kBookmark only metadata.resourceVersion is meaningful;
  // for kError it is a Status object.
  nlohmann::json object;
};

// Parses one line of a watch stream. kDataLoss when the line is not a JSON
// object with a known "type" and an object-valued "object".
Result<WatchEvent> ParseWatchEvent(std::string_view line);

class WatchEventDecoder {
 public:
  // A single event larger than this is treated as corruption; it bounds the
  // memory a broken or hostile stream can make the client hold.
  static constexpr size_t kDefaultMaxEventBytes = size_t{64} << 20;

  explicit WatchEventDecoder(size_t max_event_bytes = kDefaultMaxEventBytes)
      : max_event_bytes_(max_event_bytes) {}

  // Consumes a chunk of the stream and appends each completed event to
  // `events`. After an error the decoder is poisoned and rejects all input.
  Status Feed(std::string_view chunk, std::vector<WatchEvent>* events);

  // Called at the end of the stream: kDataLoss when it stopped mid-event.
  Status Finish();

  // Bytes held for an incomplete event.
  size_t buffered() const { return buffer_.size(); }

 private:
  size_t max_event_bytes_;
  std::string buffer_;
  Status error_;
};

}  // namespace ember::kube
