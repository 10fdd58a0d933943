// The incremental watch-stream decoder on good, split, malformed and
// truncated input.
#include <gtest/gtest.h>

#include "operator/kube/core/watch_event.h"

namespace ember::kube {
namespace {

const std::string kAdded =
    R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}})";
const std::string kModified =
    R"({"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"2"}}})";
const std::string kBookmark =
    R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"3"}}})";

TEST(WatchDecoderTest, DecodesEventsSplitAtEveryByte) {
  const std::string stream = kAdded + "\n" + kModified + "\n" + kBookmark + "\n";
  WatchEventDecoder decoder;
  std::vector<WatchEvent> events;
  for (char c : stream) ASSERT_TRUE(decoder.Feed(std::string_view(&c, 1), &events).ok());
  ASSERT_TRUE(decoder.Finish().ok());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, WatchEventType::kAdded);
  EXPECT_EQ(events[1].type, WatchEventType::kModified);
  EXPECT_EQ(events[1].object["metadata"]["resourceVersion"], "2");
  EXPECT_EQ(events[2].type, WatchEventType::kBookmark);
}

TEST(WatchDecoderTest, DecodesManyEventsInOneChunkAndSkipsBlankLines) {
  WatchEventDecoder decoder;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(decoder.Feed(kAdded + "\r\n\n" + kModified + "\n", &events).ok());
  EXPECT_EQ(events.size(), 2u);
  EXPECT_EQ(decoder.buffered(), 0u);
}

struct BadCase {
  const char* name;
  std::string line;
};

TEST(WatchDecoderTest, RejectsMalformedEvents) {
  const BadCase cases[] = {
      {"not json", "{\"type\":\"ADDED\",\"object\":{"},
      {"not an object", "[1,2,3]"},
      {"no type", R"({"object":{}})"},
      {"unknown type", R"({"type":"EXPLODED","object":{}})"},
      {"object not an object", R"({"type":"ADDED","object":"x"})"},
      {"no object", R"({"type":"DELETED"})"},
  };
  for (const auto& c : cases) {
    WatchEventDecoder decoder;
    std::vector<WatchEvent> events;
    Status status = decoder.Feed(kAdded + "\n" + c.line + "\n" + kModified + "\n", &events);
    EXPECT_EQ(status.code(), StatusCode::kDataLoss) << c.name;
    // The good event before the bad line was decoded; nothing after it was.
    EXPECT_EQ(events.size(), 1u) << c.name;
    // Poisoned: later input is refused too.
    EXPECT_FALSE(decoder.Feed(kModified + "\n", &events).ok()) << c.name;
    EXPECT_EQ(events.size(), 1u) << c.name;
  }
}

TEST(WatchDecoderTest, StreamEndingMidEventIsTruncation) {
  WatchEventDecoder decoder;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(decoder.Feed(kAdded + "\n" + kModified.substr(0, 20), &events).ok());
  EXPECT_EQ(events.size(), 1u);
  EXPECT_EQ(decoder.Finish().code(), StatusCode::kDataLoss);
}

TEST(WatchDecoderTest, CompleteEventWithoutItsNewlineIsStillTruncation) {
  WatchEventDecoder decoder;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(decoder.Feed(kAdded, &events).ok());
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(decoder.Finish().code(), StatusCode::kDataLoss);
}

TEST(WatchDecoderTest, OversizedEventIsRejectedWithoutUnboundedBuffering) {
  WatchEventDecoder decoder(/*max_event_bytes=*/64);
  std::vector<WatchEvent> events;
  Status status = Status::Ok();
  for (int i = 0; i < 100 && status.ok(); ++i) status = decoder.Feed(std::string(10, 'x'), &events);
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_LE(decoder.buffered(), 64u);
}

TEST(WatchDecoderTest, ErrorEventCarriesAStatus) {
  Result<WatchEvent> event = ParseWatchEvent(
      R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})");
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->type, WatchEventType::kError);
  EXPECT_EQ(event->object["code"], 410);
}

}  // namespace
}  // namespace ember::kube
