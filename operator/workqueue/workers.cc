#include "operator/workqueue/workers.h"

#include "common/log.h"

namespace ember::workqueue {

WorkerPool::WorkerPool(WorkQueue* queue, int workers, Handler handler)
    : queue_(queue), handler_(std::move(handler)) {
  threads_.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() {
  Stop();
}

void WorkerPool::Stop() {
  // Not draining: Stop() is how a controller stops reconciling when it
  // loses leadership, and queued keys must not run after that.
  queue_->ShutDownNow();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

void WorkerPool::Loop() {
  while (std::optional<std::string> key = queue_->Get()) {
    // A handler that throws is a failed reconcile, not a reason to end the
    // process: retry it with backoff, and always reach Done() below, or the
    // key would be stuck "in progress" forever.
    Outcome outcome = Outcome::Done();
    try {
      outcome = handler_(*key);
    } catch (const std::exception& e) {
      outcome = Outcome::Retry(InternalError(std::string("handler threw: ") + e.what()));
    } catch (...) {
      outcome = Outcome::Retry(InternalError("handler threw"));
    }
    switch (outcome.kind()) {
      case Outcome::Kind::kDone:
        queue_->Forget(*key);
        break;
      case Outcome::Kind::kRequeueAfter:
        queue_->Forget(*key);
        queue_->AddAfter(*key, outcome.delay());
        break;
      case Outcome::Kind::kRetry:
        EMBER_LOG(kDebug) << "workqueue: retrying " << *key << ": " << outcome.error().ToString();
        queue_->AddRateLimited(*key);
        break;
      case Outcome::Kind::kTerminal:
        EMBER_LOG(kWarning) << "workqueue: giving up on " << *key << ": "
                            << outcome.error().ToString();
        queue_->Forget(*key);
        break;
    }
    queue_->Done(*key);
  }
}

}  // namespace ember::workqueue
