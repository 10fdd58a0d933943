// N workers draining a WorkQueue through a handler.
//
// The handler returns exactly one Outcome, so a result can never be both
// "requeue later" and "failed" (the ambiguity controller-runtime has):
//   Done()           success; the key's backoff is reset.
//   RequeueAfter(d)  success, look again after d (polling an external state).
//   Retry(status)    transient failure: requeue with the key's exponential
//                    backoff (5 ms .. 1000 s).
//   Terminal(status) failure that retrying cannot fix: logged, not requeued
//                    until the object changes again.
//
// Thread-safety: the handler runs on up to `workers` threads at once, but
// never for the same key concurrently (the queue guarantees it). Stop() (or
// the destructor) shuts the queue down without draining it (ShutDownNow:
// queued keys are dropped), lets running handlers finish and joins the
// threads.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "ember/status.h"
#include "operator/workqueue/workqueue.h"

namespace ember::workqueue {

class Outcome {
 public:
  enum class Kind { kDone, kRequeueAfter, kRetry, kTerminal };

  static Outcome Done() { return Outcome(Kind::kDone, {}, Status::Ok()); }
  static Outcome RequeueAfter(std::chrono::milliseconds delay) {
    return Outcome(Kind::kRequeueAfter, delay, Status::Ok());
  }
  static Outcome Retry(Status error) { return Outcome(Kind::kRetry, {}, std::move(error)); }
  static Outcome Terminal(Status error) { return Outcome(Kind::kTerminal, {}, std::move(error)); }

  Kind kind() const { return kind_; }
  std::chrono::milliseconds delay() const { return delay_; }
  const Status& error() const { return error_; }

 private:
  Outcome(Kind kind, std::chrono::milliseconds delay, Status error)
      : kind_(kind), delay_(delay), error_(std::move(error)) {}
  Kind kind_;
  std::chrono::milliseconds delay_;
  Status error_;
};

class WorkerPool {
 public:
  using Handler = std::function<Outcome(const std::string& key)>;

  // `queue` must outlive the pool. Starts `workers` threads at once.
  WorkerPool(WorkQueue* queue, int workers, Handler handler);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Stop();

 private:
  void Loop();

  WorkQueue* const queue_;
  Handler handler_;
  std::vector<std::thread> threads_;
};

}  // namespace ember::workqueue
