#include "runtime/executor/shuffle_reader.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "common/log.h"
#include "runtime/metrics/metrics.h"
#include "runtime/shuffle/shuffle_file.h"
#include "runtime/shuffle/shuffle_store.h"
#include "runtime/transport/shuffle_service.h"

namespace ember {
namespace {

using Clock = std::chrono::steady_clock;

// Local segments are read in pieces this large.
constexpr size_t kLocalChunkBytes = size_t{1} << 20;
// The task thread wakes at least this often to notice it was cancelled.
constexpr std::chrono::milliseconds kCancelPoll{100};
constexpr std::chrono::milliseconds kMaxRetryWait{30'000};

// What the fetches tell the task thread, in the order they said it.
struct Event {
  enum class Kind { kStart, kChunk, kEnd };
  Kind kind;
  size_t fetch;
  std::string data;
  uint64_t total = 0;
  uint64_t version = 0;
  Status status;
};

struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Event> events;  // guarded by mu
  uint64_t buffered = 0;     // chunk bytes received, not yet parsed; guarded by mu
  uint64_t limit = 0;
  std::vector<size_t> paused;  // fetches held back by a full buffer; guarded by mu
};

class Receiver final : public transport::FetchReceiver {
 public:
  Receiver(Inbox* inbox, size_t fetch) : inbox_(inbox), fetch_(fetch) {}
  void OnStart(uint64_t total, uint64_t version) override {
    Push(Event{Event::Kind::kStart, fetch_, {}, total, version, {}});
  }
  bool OnChunk(std::string&& data) override {
    std::lock_guard<std::mutex> lock(inbox_->mu);
    inbox_->buffered += data.size();
    inbox_->events.push_back(Event{Event::Kind::kChunk, fetch_, std::move(data), 0, 0, {}});
    inbox_->cv.notify_one();
    if (inbox_->buffered < inbox_->limit) return true;
    inbox_->paused.push_back(fetch_);
    return false;
  }
  void OnEnd(Status status) override {
    Push(Event{Event::Kind::kEnd, fetch_, {}, 0, 0, std::move(status)});
  }

 private:
  void Push(Event e) {
    std::lock_guard<std::mutex> lock(inbox_->mu);
    inbox_->events.push_back(std::move(e));
    inbox_->cv.notify_one();
  }
  Inbox* const inbox_;
  const size_t fetch_;
};

struct Fetch {
  enum class State { kQueued, kRunning, kWaitingToRetry, kDone };
  const proto::MapLocation* map = nullptr;
  shuffle::BlockParser parser;
  State state = State::kQueued;
  bool started = false;
  uint64_t received = 0;  // bytes parsed, where a retry resumes
  uint64_t total = 0;
  uint64_t version = 0;
  uint32_t retries = 0;
  bool idle_cancelled = false;
  Clock::time_point last_data;
  Clock::time_point retry_at;
  // The call refers to the receiver: it is destroyed (cancelled and waited
  // for) first.
  std::unique_ptr<Receiver> receiver;
  std::unique_ptr<transport::FetchCall> call;
};

// Worth another try: the network or the peer, not the data.
bool Retryable(const Status& st) {
  switch (st.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kCancelled:
    case StatusCode::kResourceExhausted:
    case StatusCode::kInternal:
    case StatusCode::kUnknown:
      return true;
    default:
      return false;
  }
}

std::chrono::milliseconds Backoff(std::chrono::milliseconds base, uint32_t retry) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double doubled =
      static_cast<double>(base.count()) * static_cast<double>(uint64_t{1} << std::min(retry, 20u));
  // Jitter keeps the reducers of one lost peer from retrying in lockstep.
  const double jittered = std::min(doubled, static_cast<double>(kMaxRetryWait.count())) *
                          std::uniform_real_distribution<double>(0.5, 1.5)(rng);
  return std::chrono::milliseconds(static_cast<int64_t>(jittered));
}

class Reader {
 public:
  Reader(const ShuffleReadEnv& env, const proto::ShuffleLocations& locations, uint32_t reduce_id,
         const std::function<void(std::string_view)>& on_block)
      : env_(env), locations_(locations), reduce_id_(reduce_id), on_block_(on_block) {
    inbox_.limit = std::max<uint64_t>(env.options.max_bytes_in_flight, 1);
  }

  // Fetches still running are cancelled and waited for, whatever ended the
  // read.
  ~Reader() {
    for (Fetch& f : remote_) f.call.reset();
  }

  uint64_t Run() {
    std::vector<const proto::MapLocation*> local;
    for (const proto::MapLocation& map : locations_.maps()) {
      if (env_.client == nullptr || map.executor_id() == env_.executor_id) {
        local.push_back(&map);
      } else {
        remote_.emplace_back();
        remote_.back().map = &map;
      }
    }
    // Remote fetches fill the buffer while the local outputs are read.
    StartMore();
    for (const proto::MapLocation* map : local) ReadLocal(*map);
    while (done_ < remote_.size()) Step();
    return bytes_;
  }

 private:
  Status Deliver(std::string_view payload) {
    env_.check_cancelled();
    on_block_(payload);
    return Status::Ok();
  }

  [[noreturn]] void Fail(const proto::MapLocation& map, Status st) {
    if (env_.metrics != nullptr) env_.metrics->shuffle_fetch_failures_total->Increment();
    throw FetchFailure(locations_.shuffle_id(), map, std::move(st));
  }

  void ReadLocal(const proto::MapLocation& map) {
    shuffle::BlockParser parser;
    auto deliver = [this](std::string_view payload) { return Deliver(payload); };
    Status st = env_.store->ReadSegment(locations_.shuffle_id(), map.map_id(), reduce_id_,
                                        kLocalChunkBytes, [&](std::string_view chunk) {
                                          bytes_ += chunk.size();
                                          return parser.Feed(chunk, deliver);
                                        });
    if (st.ok()) st = parser.Finish();
    if (!st.ok()) {
      Fail(map, st.WithContext("shuffle " + std::to_string(locations_.shuffle_id()) + " map " +
                               std::to_string(map.map_id()) + " on this executor"));
    }
  }

  void StartFetch(size_t i) {
    Fetch& f = remote_[i];
    transport::SegmentRef ref;
    ref.address = f.map->address();
    ref.shuffle_id = locations_.shuffle_id();
    ref.map_id = f.map->map_id();
    ref.reduce_id = reduce_id_;
    ref.offset = f.received;
    ref.version = f.version;
    f.receiver = std::make_unique<Receiver>(&inbox_, i);
    f.call = env_.client->Start(ref, f.receiver.get());
    f.state = Fetch::State::kRunning;
    f.idle_cancelled = false;
    f.last_data = Clock::now();
    ++running_;
  }

  void StartMore() {
    while (running_ < env_.options.max_requests_in_flight && next_ < remote_.size()) {
      StartFetch(next_++);
    }
  }

  // Waits for news (or a timer), then handles it.
  void Step() {
    env_.check_cancelled();
    std::deque<Event> batch;
    {
      std::unique_lock<std::mutex> lock(inbox_.mu);
      inbox_.cv.wait_until(lock, NextTimer(), [this] { return !inbox_.events.empty(); });
      batch.swap(inbox_.events);
    }
    for (Event& e : batch) Handle(e);
    ResumePaused();
    const Clock::time_point now = Clock::now();
    for (size_t i = 0; i < remote_.size(); ++i) {
      Fetch& f = remote_[i];
      if (f.state == Fetch::State::kWaitingToRetry && now >= f.retry_at &&
          running_ < env_.options.max_requests_in_flight) {
        StartFetch(i);
      }
    }
    CancelIdle(now);
    StartMore();
  }

  Clock::time_point NextTimer() const {
    Clock::time_point next = Clock::now() + kCancelPoll;
    for (const Fetch& f : remote_) {
      if (f.state == Fetch::State::kWaitingToRetry) next = std::min(next, f.retry_at);
      if (f.state == Fetch::State::kRunning && !f.idle_cancelled) {
        next = std::min(next, f.last_data + env_.options.idle_timeout);
      }
    }
    return next;
  }

  void Handle(Event& e) {
    Fetch& f = remote_[e.fetch];
    switch (e.kind) {
      case Event::Kind::kStart:
        if (!f.started) {
          f.started = true;
          f.total = e.total;
          f.version = e.version;
        }
        return;
      case Event::Kind::kChunk: {
        const size_t n = e.data.size();
        bytes_ += n;
        f.received += n;
        f.last_data = Clock::now();
        auto deliver = [this](std::string_view payload) { return Deliver(payload); };
        Status st = f.parser.Feed(e.data, deliver);
        {
          std::lock_guard<std::mutex> lock(inbox_.mu);
          inbox_.buffered -= n;
        }
        if (!st.ok()) Fail(*f.map, st.WithContext(What(f)));
        return;
      }
      case Event::Kind::kEnd:
        End(f, std::move(e.status));
        return;
    }
  }

  void End(Fetch& f, Status st) {
    --running_;
    f.call.reset();
    f.receiver.reset();
    if (st.ok()) {
      if (f.received != f.total) {
        st = DataLossError("segment truncated: received " + std::to_string(f.received) + " of " +
                           std::to_string(f.total) + " bytes");
      } else {
        st = f.parser.Finish();
      }
      if (!st.ok()) Fail(*f.map, st.WithContext(What(f)));
      f.state = Fetch::State::kDone;
      ++done_;
      return;
    }
    if (f.idle_cancelled) {
      st = DeadlineExceededError(What(f) + ": nothing received for " +
                                 std::to_string(env_.options.idle_timeout.count()) + " ms");
    }
    if (!Retryable(st) || f.retries >= env_.options.max_retries) {
      if (f.retries > 0) {
        st = st.WithContext("after " + std::to_string(f.retries + 1) + " attempts");
      }
      Fail(*f.map, st);
    }
    ++f.retries;
    const std::chrono::milliseconds wait = Backoff(env_.options.retry_wait, f.retries - 1);
    EMBER_LOG(kWarning) << st.message() << "; retry " << f.retries << " of "
                        << env_.options.max_retries << " in " << wait.count() << " ms, from byte "
                        << f.received;
    if (env_.metrics != nullptr) env_.metrics->shuffle_fetch_retries_total->Increment();
    f.state = Fetch::State::kWaitingToRetry;
    f.retry_at = Clock::now() + wait;
  }

  void ResumePaused() {
    std::vector<size_t> resume;
    {
      std::lock_guard<std::mutex> lock(inbox_.mu);
      if (inbox_.buffered >= inbox_.limit) return;
      resume.swap(inbox_.paused);
    }
    const Clock::time_point now = Clock::now();
    for (size_t i : resume) {
      Fetch& f = remote_[i];
      if (f.call == nullptr) continue;
      // A held-back fetch was not idle: its clock starts again now.
      f.last_data = now;
      f.call->Resume();
    }
  }

  void CancelIdle(Clock::time_point now) {
    {
      // While the buffer is full the fetches are held back on purpose.
      std::lock_guard<std::mutex> lock(inbox_.mu);
      if (inbox_.buffered >= inbox_.limit) return;
    }
    for (Fetch& f : remote_) {
      if (f.state == Fetch::State::kRunning && !f.idle_cancelled &&
          now - f.last_data >= env_.options.idle_timeout) {
        f.idle_cancelled = true;
        f.call->Cancel();
      }
    }
  }

  std::string What(const Fetch& f) const {
    return "fetching shuffle " + std::to_string(locations_.shuffle_id()) + " map " +
           std::to_string(f.map->map_id()) + " reduce " + std::to_string(reduce_id_) + " from " +
           f.map->address();
  }

  const ShuffleReadEnv& env_;
  const proto::ShuffleLocations& locations_;
  const uint32_t reduce_id_;
  const std::function<void(std::string_view)>& on_block_;
  // Declared before the fetches: their calls push into it until destroyed.
  Inbox inbox_;
  std::vector<Fetch> remote_;
  size_t next_ = 0;     // next queued fetch to start
  size_t running_ = 0;  // fetches with a call
  size_t done_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace

uint64_t ReadShuffle(const ShuffleReadEnv& env, const proto::ShuffleLocations& locations,
                     uint32_t reduce_id, const std::function<void(std::string_view)>& on_block) {
  Reader reader(env, locations, reduce_id, on_block);
  return reader.Run();
}

}  // namespace ember
