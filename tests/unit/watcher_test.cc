// The watcher's decision that a cleanly ended watch was too short to trust.
#include <gtest/gtest.h>

#include "operator/watch/watcher.h"

namespace ember::kube {
namespace {

using std::chrono::milliseconds;

TEST(WatcherTest, AnEmptyWatchEndedAtOnceIsVeryShort) {
  EXPECT_TRUE(IsVeryShortWatch(milliseconds(0), 0, milliseconds(1000)));
  EXPECT_TRUE(IsVeryShortWatch(milliseconds(999), 0, milliseconds(1000)));
}

TEST(WatcherTest, AWatchThatLastedOrDeliveredIsNot) {
  EXPECT_FALSE(IsVeryShortWatch(milliseconds(1000), 0, milliseconds(1000)));
  EXPECT_FALSE(IsVeryShortWatch(milliseconds(300000), 0, milliseconds(1000)));
  EXPECT_FALSE(IsVeryShortWatch(milliseconds(5), 1, milliseconds(1000)));
}

TEST(WatcherTest, TheThresholdIsASetting) {
  EXPECT_EQ(WatcherOptions{}.min_watch_duration, milliseconds(1000));
  EXPECT_TRUE(IsVeryShortWatch(milliseconds(4000), 0, milliseconds(5000)));
  EXPECT_FALSE(IsVeryShortWatch(milliseconds(0), 0, milliseconds(0)));
}

}  // namespace
}  // namespace ember::kube
