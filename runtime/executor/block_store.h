// An executor's cached partitions (RDD.persist): encoded records by
// (cache id, partition), in memory or in files under the executor's local
// directory.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ember/status.h"

namespace ember {

class BlockStore {
 public:
  enum class Level : uint8_t { kMemory = 0, kDisk = 1, kMemoryAndDisk = 2 };

  // Disk blocks go below `dir` (created on first use).
  explicit BlockStore(std::string dir);
  ~BlockStore();
  BlockStore(const BlockStore&) = delete;
  BlockStore& operator=(const BlockStore&) = delete;

  // The block's records, or null when this executor does not hold it (or
  // its file cannot be read back: then it is dropped and recomputed).
  std::shared_ptr<const std::string> Get(uint64_t cache_id, uint32_t partition);
  // Keeps a block; a second copy of one already held is dropped. A level
  // outside Level is INVALID_ARGUMENT; a file that cannot be written, the
  // I/O error (the task still succeeds without keeping it).
  Status Put(uint64_t cache_id, uint32_t partition, uint8_t level, std::string records);
  // Drops every block of `cache_id`.
  void Remove(uint64_t cache_id);

  uint64_t memory_bytes() const;
  uint64_t disk_bytes() const;

 private:
  struct Block {
    std::shared_ptr<const std::string> memory;
    std::string file;  // set for a block on disk
    uint64_t size = 0;
  };
  std::string FileOf(uint64_t cache_id, uint32_t partition) const;

  const std::string dir_;
  mutable std::mutex mu_;
  std::map<std::pair<uint64_t, uint32_t>, Block> blocks_;  // guarded by mu_
  uint64_t memory_bytes_ = 0;                              // guarded by mu_
  uint64_t disk_bytes_ = 0;                                // guarded by mu_
};

}  // namespace ember
