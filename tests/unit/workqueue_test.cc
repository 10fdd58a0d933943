// Work queue semantics: dedup, per-key exclusion, backoff, delays, workers.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "operator/workqueue/workers.h"
#include "operator/workqueue/workqueue.h"

namespace ember::workqueue {
namespace {

using std::chrono::milliseconds;

TEST(WorkQueueTest, DeduplicatesKeysNotYetTaken) {
  WorkQueue queue;
  queue.Add("a");
  queue.Add("b");
  queue.Add("a");
  queue.Add("a");
  EXPECT_EQ(queue.Len(), 2u);
  EXPECT_EQ(queue.Get(), "a");
  EXPECT_EQ(queue.Get(), "b");
  EXPECT_EQ(queue.Len(), 0u);
}

TEST(WorkQueueTest, KeyAddedWhileProcessingIsHeldUntilDone) {
  WorkQueue queue;
  queue.Add("a");
  ASSERT_EQ(queue.Get(), "a");
  queue.Add("a");
  queue.Add("a");
  // Not handed to another worker while the first still holds it.
  EXPECT_EQ(queue.Len(), 0u);
  queue.Done("a");
  EXPECT_EQ(queue.Len(), 1u);
  EXPECT_EQ(queue.Get(), "a");
  queue.Done("a");
  EXPECT_EQ(queue.Len(), 0u);
}

TEST(WorkQueueTest, ShutDownDrainsThenReturnsNothing) {
  WorkQueue queue;
  queue.Add("a");
  queue.ShutDown();
  queue.Add("b");  // ignored
  EXPECT_EQ(queue.Get(), "a");
  EXPECT_EQ(queue.Get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownNowDropsQueuedAndHeldBackKeys) {
  WorkQueue queue;
  queue.Add("a");
  queue.Add("b");
  std::optional<std::string> a = queue.Get();
  ASSERT_EQ(a, "a");
  queue.Add("a");  // held back while "a" is in progress
  queue.AddAfter("c", milliseconds(10));
  queue.ShutDownNow();
  EXPECT_EQ(queue.Len(), 0u);
  queue.Done("a");  // would re-queue "a" after a draining ShutDown()
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(queue.Get(), std::nullopt);
  queue.Add("d");
  EXPECT_EQ(queue.Get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownWakesABlockedGet) {
  WorkQueue queue;
  std::optional<std::string> got = "unset";
  std::thread waiter([&] { got = queue.Get(); });
  queue.ShutDown();
  waiter.join();
  EXPECT_EQ(got, std::nullopt);
}

TEST(WorkQueueTest, DelayedAddArrivesLaterAndEarliestDelayWins) {
  WorkQueue queue;
  queue.AddAfter("slow", milliseconds(60000));
  queue.AddAfter("k", milliseconds(60000));
  queue.AddAfter("k", milliseconds(50));     // replaces the later one
  queue.AddAfter("k", milliseconds(30000));  // ignored: an earlier one is pending
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_EQ(queue.Get(), "k");  // blocks until the 50 ms delay passes
  queue.Done("k");
  EXPECT_EQ(queue.Len(), 0u);
}

TEST(WorkQueueTest, ZeroDelayIsAnImmediateAdd) {
  WorkQueue queue;
  queue.AddAfter("k", milliseconds(0));
  EXPECT_EQ(queue.Len(), 1u);
}

TEST(RateLimiterTest, PerKeyBackoffDoublesFrom5msTo1000s) {
  ItemExponentialRateLimiter limiter;
  int64_t want = 5;
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(limiter.When("a").count(), std::min<int64_t>(want, 1000 * 1000)) << i;
    want *= 2;
  }
  EXPECT_EQ(limiter.When("a").count(), 1000 * 1000);
  EXPECT_EQ(limiter.NumRequeues("a"), 31);
  // Other keys have their own count.
  EXPECT_EQ(limiter.When("b").count(), 5);
  limiter.Forget("a");
  EXPECT_EQ(limiter.NumRequeues("a"), 0);
  EXPECT_EQ(limiter.When("a").count(), 5);
}

TEST(RateLimiterTest, ManyFailuresDoNotOverflow) {
  ItemExponentialRateLimiter limiter;
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(limiter.When("x") <= milliseconds(1000 * 1000), true);
  EXPECT_EQ(limiter.When("x").count(), 1000 * 1000);
}

TEST(WorkQueueTest, AddRateLimitedCountsRequeuesAndForgetResets) {
  WorkQueue queue;
  queue.AddRateLimited("k");
  EXPECT_EQ(queue.NumRequeues("k"), 1);
  EXPECT_EQ(queue.Get(), "k");
  queue.AddRateLimited("k");
  queue.Done("k");
  EXPECT_EQ(queue.Get(), "k");
  queue.Done("k");
  EXPECT_EQ(queue.NumRequeues("k"), 2);
  queue.Forget("k");
  EXPECT_EQ(queue.NumRequeues("k"), 0);
}

TEST(WorkerPoolTest, NeverRunsOneKeyOnTwoWorkersAtOnce) {
  WorkQueue queue;
  constexpr int kKeys = 5;
  constexpr int kAddsPerKey = 200;
  std::mutex mu;
  std::set<std::string> running;
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::atomic<int> max_parallel{0};
  {
    WorkerPool pool(&queue, 8, [&](const std::string& key) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!running.insert(key).second) overlap = true;
        max_parallel = std::max<int>(max_parallel, static_cast<int>(running.size()));
      }
      std::this_thread::sleep_for(milliseconds(1));
      {
        std::lock_guard<std::mutex> lock(mu);
        running.erase(key);
      }
      ++processed;
      return Outcome::Done();
    });
    std::vector<std::thread> producers;
    for (int p = 0; p < 4; ++p) {
      producers.emplace_back([&] {
        for (int i = 0; i < kAddsPerKey; ++i) queue.Add("key-" + std::to_string(i % kKeys));
      });
    }
    for (auto& t : producers) t.join();
    // Let the workers catch up with the last adds before stopping.
    while (queue.Len() > 0) std::this_thread::sleep_for(milliseconds(5));
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_FALSE(overlap.load());
  // Deduplication: far fewer runs than adds, but every key ran.
  EXPECT_GE(processed.load(), kKeys);
  EXPECT_LT(processed.load(), 4 * kAddsPerKey);
  EXPECT_GT(max_parallel.load(), 1);  // distinct keys did run in parallel
}

TEST(WorkerPoolTest, StopDoesNotProcessQueuedKeys) {
  WorkQueue queue;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> first_running{false};
  std::vector<std::string> processed;
  WorkerPool pool(&queue, 1, [&](const std::string& key) {
    {
      std::unique_lock<std::mutex> lock(mu);
      processed.push_back(key);
      first_running = true;
      cv.wait(lock, [&] { return release; });
    }
    return Outcome::Done();
  });
  queue.Add("first");
  while (!first_running.load()) std::this_thread::sleep_for(milliseconds(1));
  for (int i = 0; i < 10; ++i) queue.Add("queued-" + std::to_string(i));
  std::thread stopper([&] { pool.Stop(); });
  // Stop() has shut the queue before the running handler returns.
  while (!queue.ShuttingDown()) std::this_thread::sleep_for(milliseconds(1));
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  stopper.join();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(processed, std::vector<std::string>{"first"});
}

TEST(WorkerPoolTest, AThrowingHandlerIsRetriedNotFatal) {
  WorkQueue queue;
  std::atomic<int> runs{0};
  WorkerPool pool(&queue, 1, [&](const std::string&) -> Outcome {
    if (++runs < 3) throw std::runtime_error("boom");
    return Outcome::Done();
  });
  queue.Add("k");
  for (int i = 0; i < 2000 && runs.load() < 3; ++i) std::this_thread::sleep_for(milliseconds(5));
  std::this_thread::sleep_for(milliseconds(50));
  pool.Stop();
  EXPECT_EQ(runs.load(), 3);  // two throws retried with backoff, then success
  EXPECT_EQ(queue.NumRequeues("k"), 0);
}

TEST(WorkerPoolTest, OutcomesDriveRequeueAndBackoff) {
  WorkQueue queue;
  std::mutex mu;
  std::map<std::string, int> runs;
  std::atomic<int> total{0};
  WorkerPool pool(&queue, 2, [&](const std::string& key) -> Outcome {
    int n;
    {
      std::lock_guard<std::mutex> lock(mu);
      n = ++runs[key];
    }
    ++total;
    if (key == "retry" && n < 4) return Outcome::Retry(UnavailableError("flaky"));
    if (key == "poll" && n < 3) return Outcome::RequeueAfter(milliseconds(10));
    if (key == "fatal") return Outcome::Terminal(InvalidArgumentError("bad spec"));
    return Outcome::Done();
  });
  queue.Add("retry");
  queue.Add("poll");
  queue.Add("fatal");
  queue.Add("ok");
  for (int i = 0; i < 2000 && total.load() < 4 + 3 + 2; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  std::this_thread::sleep_for(milliseconds(100));
  pool.Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(runs["retry"], 4);  // three failures, then success
  EXPECT_EQ(runs["poll"], 3);
  EXPECT_EQ(runs["fatal"], 1);  // not retried
  EXPECT_EQ(runs["ok"], 1);
  EXPECT_EQ(queue.NumRequeues("retry"), 0);  // success forgot the failures
}

}  // namespace
}  // namespace ember::workqueue
