// A reduce task's input: every map output of one shuffle for its reducer.
//
// Local map outputs are read from the store; remote ones are fetched, up to
// max_requests_in_flight at once, into a buffer of at most
// max_bytes_in_flight (a full buffer pauses the fetches, and gRPC's flow
// control then holds the servers back). Blocks are checked (CRC) and handed
// to the task as they arrive, on the task's thread: no segment is ever
// buffered whole.
//
// A fetch that fails on the way (a dropped connection, a peer restarting,
// nothing received for idle_timeout) is retried max_retries times after a
// jittered, doubling wait, resuming at the byte where it stopped. Only then,
// or at once when retrying cannot help (the output is gone, the data is
// corrupt), the read fails with FetchFailure and the driver recomputes that
// map output.
//
// Thread-safety: one ShuffleReader per task; it runs on the task's thread
// and owns the fetches it starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ember/task.h"
#include "runtime/proto/ember.pb.h"

namespace ember {
class Metrics;
namespace shuffle {
class ShuffleStore;
}
namespace transport {
class ShuffleClient;
}

struct FetchOptions {
  uint32_t max_retries = 3;
  std::chrono::milliseconds retry_wait{1000};
  std::chrono::milliseconds idle_timeout{120'000};
  uint64_t max_bytes_in_flight = uint64_t{48} << 20;
  uint32_t max_requests_in_flight = 8;
};

// The map output a reduce task could not read; the driver recomputes it.
class FetchFailure : public internal::TaskError {
 public:
  FetchFailure(uint32_t shuffle_id, const proto::MapLocation& map, Status status)
      : TaskError(std::move(status)),
        shuffle_id(shuffle_id),
        map_id(map.map_id()),
        executor_id(map.executor_id()),
        epoch(map.epoch()) {}
  uint32_t shuffle_id;
  uint32_t map_id;
  std::string executor_id;
  uint64_t epoch;
};

struct ShuffleReadEnv {
  std::string executor_id;
  shuffle::ShuffleStore* store = nullptr;
  transport::ShuffleClient* client = nullptr;  // null: every output is local
  FetchOptions options;
  Metrics* metrics = nullptr;  // optional
  // Throws when the task has been told to stop.
  std::function<void()> check_cancelled;
};

// Reads every map output in `locations` for `reduce_id`, calling `on_block`
// with each block's payload. Returns the bytes read. Throws FetchFailure,
// TaskCancelled, or whatever on_block throws; fetches still running are
// cancelled and waited for before it returns or throws.
uint64_t ReadShuffle(const ShuffleReadEnv& env, const proto::ShuffleLocations& locations,
                     uint32_t reduce_id, const std::function<void(std::string_view)>& on_block);

}  // namespace ember
