// A fixed set of threads running posted jobs in order of posting. For work
// that must not run on gRPC's threads (disk reads) and must not grow a
// thread per request.
//
// Thread-safety: Post may be called from any thread, including a job.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ember {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  // Runs the jobs already posted, then joins the threads.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Post(std::function<void()> job);

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace ember
