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

Status ShuffleStore::ReadSegment(uint32_t shuffle_id, uint32_t map_id, uint32_t reduce_id,
                                 size_t chunk_bytes,
                                 const std::function<Status(std::string_view)>& sink) {
  const std::string path = MapOutputPath(shuffle_id, map_id);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return NotFoundError("no shuffle output for shuffle " + std::to_string(shuffle_id) +
                           " map " + std::to_string(map_id));
    }
    return ErrnoError("opening shuffle file " + path, err);
  }
  Status s = shuffle_internal::ReadSegmentFromFd(fd, path, reduce_id, chunk_bytes, sink);
  ::close(fd);
  return s;
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
