#include "runtime/shuffle/shuffle_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "runtime/shuffle/shuffle_file.h"

namespace ember::shuffle {

namespace fs = std::filesystem;

ShuffleStore::ShuffleStore(std::string root_dir) : root_dir_(std::move(root_dir)) {}

std::string ShuffleStore::ShuffleDir(uint32_t shuffle_id) const {
  return (fs::path(root_dir_) / ("shuffle-" + std::to_string(shuffle_id))).string();
}

std::string ShuffleStore::MapOutputPath(uint32_t shuffle_id, uint32_t map_id) const {
  return (fs::path(ShuffleDir(shuffle_id)) / ("map-" + std::to_string(map_id) + ".data")).string();
}

Status ShuffleStore::Prepare(uint32_t shuffle_id) {
  const std::string dir = ShuffleDir(shuffle_id);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return ErrnoError("creating shuffle directory " + dir, ec.value());
  return Status();
}

namespace {

class StoredSegment final : public transport::Segment {
 public:
  explicit StoredSegment(std::unique_ptr<SegmentReader> reader) : reader_(std::move(reader)) {}
  uint64_t size() const override { return reader_->size(); }
  uint64_t version() const override { return reader_->version(); }
  Status Read(uint64_t offset, size_t n, std::string* out) override {
    return reader_->Read(offset, n, out);
  }

 private:
  std::unique_ptr<SegmentReader> reader_;
};

}  // namespace

Result<std::unique_ptr<transport::Segment>> ShuffleStore::OpenSegment(uint32_t shuffle_id,
                                                                      uint32_t map_id,
                                                                      uint32_t reduce_id) {
  auto reader = SegmentReader::Open(MapOutputPath(shuffle_id, map_id), reduce_id);
  if (!reader.ok()) {
    if (reader.status().code() == StatusCode::kNotFound) {
      return NotFoundError("no shuffle output for shuffle " + std::to_string(shuffle_id) + " map " +
                           std::to_string(map_id));
    }
    return reader.status();
  }
  return std::unique_ptr<transport::Segment>(std::make_unique<StoredSegment>(std::move(*reader)));
}

Status ShuffleStore::ReadSegment(uint32_t shuffle_id, uint32_t map_id, uint32_t reduce_id,
                                 size_t chunk_bytes,
                                 const std::function<Status(std::string_view)>& sink) {
  ASSIGN_OR_RETURN(std::unique_ptr<transport::Segment> segment,
                   OpenSegment(shuffle_id, map_id, reduce_id));
  const size_t chunk = chunk_bytes == 0 ? kDefaultChunkBytes : chunk_bytes;
  std::string buf;
  for (uint64_t pos = 0; pos < segment->size(); pos += buf.size()) {
    RETURN_IF_ERROR(segment->Read(pos, chunk, &buf));
    RETURN_IF_ERROR(sink(buf));
  }
  return Status();
}

void ShuffleStore::RemoveShuffle(uint32_t shuffle_id) {
  std::error_code ec;
  fs::remove_all(ShuffleDir(shuffle_id), ec);
}

void ShuffleStore::RemoveAll() {
  std::error_code ec;
  fs::remove_all(root_dir_, ec);
}

}  // namespace ember::shuffle
