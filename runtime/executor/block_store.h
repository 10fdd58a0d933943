// An executor's cached partitions (RDD.persist): encoded records by
// (cache id, partition), in memory or in files under the executor's local
// directory.
//
// Blocks kept in memory count against the executor's memory budget, and
// take at most half of it (as Spark's spark.memory.storageFraction), so
// running tasks always keep the other half. A MEMORY_AND_DISK block that
// does not fit goes to disk; a MEMORY block that does not fit is not kept,
// and its partition is computed again when next needed.
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

class MemoryBudget;

class BlockStore {
 public:
  enum class Level : uint8_t { kMemory = 0, kDisk = 1, kMemoryAndDisk = 2 };

  // Disk blocks go below `dir` (created on first use). `budget` (optional)
  // must outlive the store.
  BlockStore(std::string dir, MemoryBudget* budget);
  ~BlockStore();
  BlockStore(const BlockStore&) = delete;
  BlockStore& operator=(const BlockStore&) = delete;

  // The block's records, or null when this executor does not hold it (or
  // its file cannot be read back: then it is dropped and recomputed).
  std::shared_ptr<const std::string> Get(uint64_t cache_id, uint32_t partition);
  // Keeps a block; a second copy of one already held is dropped. A level
  // outside Level is INVALID_ARGUMENT; a file that cannot be written, the
  // I/O error; a MEMORY block beyond the budget's share, RESOURCE_EXHAUSTED
  // (the task still succeeds without keeping it).
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
  // Claims `bytes` of the budget for a block in memory, within its share.
  bool ReserveMemory(uint64_t bytes);
  Status WriteFile(const std::string& path, const std::string& records);

  const std::string dir_;
  MemoryBudget* const budget_;
  mutable std::mutex mu_;
  std::map<std::pair<uint64_t, uint32_t>, Block> blocks_;  // guarded by mu_
  uint64_t memory_bytes_ = 0;                              // guarded by mu_
  uint64_t disk_bytes_ = 0;                                // guarded by mu_
};

}  // namespace ember
