// The executor's local shuffle output: where map tasks write their files and
// where the shuffle server reads segments from.
//
// Layout: <root>/shuffle-<shuffle_id>/map-<map_id>.data, one committed
// shuffle file (shuffle_file.h) per map task. A re-run map task simply
// commits over the old file (rename is atomic).
//
// Thread-safety: all methods may be called concurrently from any thread; the
// store holds no mutable state beyond the file system.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ember/status.h"
#include "runtime/transport/shuffle_service.h"

namespace ember::shuffle {

class ShuffleStore : public transport::ShuffleSource {
 public:
  explicit ShuffleStore(std::string root_dir);

  const std::string& root_dir() const { return root_dir_; }

  // Where map task `map_id` of `shuffle_id` commits its output. Call
  // Prepare(shuffle_id) before creating a writer for it.
  std::string MapOutputPath(uint32_t shuffle_id, uint32_t map_id) const;

  // Creates the shuffle's directory (and the root) if missing; idempotent.
  Status Prepare(uint32_t shuffle_id);

  // NOT_FOUND "no shuffle output for shuffle S map M" when that map output
  // does not exist; otherwise as SegmentReader::Open.
  Result<std::unique_ptr<transport::Segment>> OpenSegment(uint32_t shuffle_id, uint32_t map_id,
                                                          uint32_t reduce_id) override;
  // The whole segment to `sink`, in pieces of at most `chunk_bytes`; errors
  // as OpenSegment, or the sink's.
  Status ReadSegment(uint32_t shuffle_id, uint32_t map_id, uint32_t reduce_id, size_t chunk_bytes,
                     const std::function<Status(std::string_view)>& sink);

  // Deletes one shuffle's files (e.g. when the driver unregisters it).
  void RemoveShuffle(uint32_t shuffle_id);

  // Deletes everything under the root, and the root itself. Best effort.
  void RemoveAll();

 private:
  std::string ShuffleDir(uint32_t shuffle_id) const;

  std::string root_dir_;
};

}  // namespace ember::shuffle
