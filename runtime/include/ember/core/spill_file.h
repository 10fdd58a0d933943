// A file of blocks that an operator writes when its records outgrow the
// executor's memory budget, and reads back once, in order.
//
// The file is unlinked as soon as it is created: only the descriptor names
// it, so nothing is left on disk however the process ends (kill -9
// included). Each block carries its length and a CRC32C, so a short read or
// a corrupted disk fails the task with a message instead of feeding it
// wrong records.
//
// Thread-safety: one per task thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ember::internal {

class SpillFile {
 public:
  // Creates the file in `dir`; a TaskError if it cannot.
  explicit SpillFile(const std::string& dir);
  ~SpillFile();
  SpillFile(SpillFile&& other) noexcept;
  SpillFile& operator=(SpillFile&& other) noexcept;
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  // Appends one block; buffered.
  void Append(std::string_view block);
  // Ends writing; reading starts at the first block.
  void FinishWriting();
  // The next block into `block`; false once all were read.
  bool Next(std::string& block);

  // Bytes written, framing included.
  uint64_t bytes() const { return bytes_; }

 private:
  void FlushBuffer();
  void WriteAll(const char* data, size_t n);
  void ReadExactly(char* out, size_t n);

  int fd_ = -1;
  std::string buffer_;  // unwritten bytes
  uint64_t bytes_ = 0;
  uint64_t read_offset_ = 0;
};

}  // namespace ember::internal
