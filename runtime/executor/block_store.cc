#include "runtime/executor/block_store.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/executor/memory_budget.h"

namespace ember {

BlockStore::BlockStore(std::string dir, MemoryBudget* budget)
    : dir_(std::move(dir)), budget_(budget) {}

BlockStore::~BlockStore() {
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  if (budget_ != nullptr && memory_bytes_ > 0) budget_->Release(memory_bytes_);
}

bool BlockStore::ReserveMemory(uint64_t bytes) {
  if (budget_ == nullptr || budget_->limit() == 0) return true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (memory_bytes_ + bytes > budget_->limit() / 2) return false;
  }
  return budget_->TryReserve(bytes);
}

Status BlockStore::WriteFile(const std::string& path, const std::string& records) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return InternalError("creating " + dir_ + ": " + ec.message());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(records.data(), static_cast<std::streamsize>(records.size()));
    if (!out) return InternalError("writing " + tmp + ": " + std::strerror(errno));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return InternalError("renaming " + tmp + ": " + ec.message());
  return Status::Ok();
}

std::string BlockStore::FileOf(uint64_t cache_id, uint32_t partition) const {
  return dir_ + "/cache-" + std::to_string(cache_id) + "-part-" + std::to_string(partition);
}

std::shared_ptr<const std::string> BlockStore::Get(uint64_t cache_id, uint32_t partition) {
  std::string file;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.find({cache_id, partition});
    if (it == blocks_.end()) return nullptr;
    if (it->second.memory) return it->second.memory;
    file = it->second.file;
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in.good() && !in.eof()) {
    // Unreadable: forget it, so that the partition is computed again.
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.find({cache_id, partition});
    if (it != blocks_.end()) {
      disk_bytes_ -= it->second.size;
      blocks_.erase(it);
    }
    return nullptr;
  }
  return std::make_shared<const std::string>(std::move(bytes).str());
}

Status BlockStore::Put(uint64_t cache_id, uint32_t partition, uint8_t level, std::string records) {
  if (level > static_cast<uint8_t>(Level::kMemoryAndDisk)) {
    return InvalidArgumentError("unknown storage level " + std::to_string(level));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (blocks_.count({cache_id, partition}) > 0) return Status::Ok();
  }
  Block block;
  block.size = records.size();
  Level where = static_cast<Level>(level);
  if (where != Level::kDisk && !ReserveMemory(block.size)) {
    if (where == Level::kMemory) {
      return ResourceExhaustedError("a block of " + std::to_string(block.size) +
                                    " bytes does not fit in the cache's half of the memory budget");
    }
    where = Level::kDisk;  // MEMORY_AND_DISK: the disk takes it
  }
  if (where == Level::kDisk) {
    block.file = FileOf(cache_id, partition);
    RETURN_IF_ERROR(WriteFile(block.file, records));
  } else {
    block.memory = std::make_shared<const std::string>(std::move(records));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = blocks_.emplace(std::make_pair(cache_id, partition), block);
  if (!inserted) {
    // Another task kept it meanwhile.
    if (block.memory && budget_ != nullptr) budget_->Release(block.size);
    return Status::Ok();
  }
  (block.memory ? memory_bytes_ : disk_bytes_) += block.size;
  return Status::Ok();
}

void BlockStore::Remove(uint64_t cache_id) {
  std::vector<std::string> files;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = blocks_.lower_bound({cache_id, 0});
         it != blocks_.end() && it->first.first == cache_id;) {
      if (it->second.memory) {
        memory_bytes_ -= it->second.size;
        if (budget_ != nullptr) budget_->Release(it->second.size);
      } else {
        disk_bytes_ -= it->second.size;
        files.push_back(it->second.file);
      }
      it = blocks_.erase(it);
    }
  }
  std::error_code ec;
  for (const std::string& f : files) std::filesystem::remove(f, ec);
}

uint64_t BlockStore::memory_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return memory_bytes_;
}

uint64_t BlockStore::disk_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return disk_bytes_;
}

}  // namespace ember
