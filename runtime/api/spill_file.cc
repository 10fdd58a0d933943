#include "ember/core/spill_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "ember/task.h"
#include "runtime/shuffle/crc32c.h"

namespace ember::internal {
namespace {

// Writes go out in pieces this large: big enough that a spill is a few
// sequential writes, small enough not to double a task's memory.
constexpr size_t kWriteBuffer = 1 << 20;
constexpr size_t kHeader = 8;  // u32 length, u32 CRC32C, little-endian
// Blocks are at most a shuffle block plus one record; a length beyond this
// can only be corruption.
constexpr uint32_t kMaxBlock = 1u << 30;

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

[[noreturn]] void FailErrno(const std::string& what, int err) {
  Fail(InternalError("spill file: " + what + ": " + std::strerror(err)));
}

}  // namespace

SpillFile::SpillFile(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) Fail(InternalError("spill directory " + dir + ": " + ec.message()));
  std::string path = dir + "/spill-XXXXXX";
  fd_ = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd_ < 0) FailErrno("creating " + path, errno);
  ::unlink(path.c_str());
  buffer_.reserve(kWriteBuffer);
}

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

SpillFile::SpillFile(SpillFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      bytes_(other.bytes_),
      read_offset_(other.read_offset_) {}

SpillFile& SpillFile::operator=(SpillFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
    bytes_ = other.bytes_;
    read_offset_ = other.read_offset_;
  }
  return *this;
}

void SpillFile::Append(std::string_view block) {
  if (block.size() > kMaxBlock) {
    Fail(InternalError("spill file: a block of " + std::to_string(block.size()) + " bytes"));
  }
  char header[kHeader];
  PutU32(header, static_cast<uint32_t>(block.size()));
  PutU32(header + 4, shuffle::Crc32c(block));
  buffer_.append(header, kHeader);
  bytes_ += kHeader + block.size();
  if (buffer_.size() + block.size() > kWriteBuffer) {
    FlushBuffer();
    // A large block goes straight out rather than through the buffer.
    if (block.size() >= kWriteBuffer) {
      WriteAll(block.data(), block.size());
      return;
    }
  }
  buffer_.append(block.data(), block.size());
}

void SpillFile::WriteAll(const char* data, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t wrote = ::write(fd_, data + done, n - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      FailErrno("writing", errno);
    }
    done += static_cast<size_t>(wrote);
  }
}

void SpillFile::FlushBuffer() {
  WriteAll(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void SpillFile::FinishWriting() {
  FlushBuffer();
  std::string().swap(buffer_);
  read_offset_ = 0;
}

void SpillFile::ReadExactly(char* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, out + done, n - done, static_cast<off_t>(read_offset_));
    if (got < 0) {
      if (errno == EINTR) continue;
      FailErrno("reading", errno);
    }
    if (got == 0) {
      Fail(DataLossError("spill file: ends at byte " + std::to_string(read_offset_) + " of " +
                         std::to_string(bytes_)));
    }
    done += static_cast<size_t>(got);
    read_offset_ += static_cast<uint64_t>(got);
  }
}

bool SpillFile::Next(std::string& block) {
  if (read_offset_ >= bytes_) return false;
  char header[kHeader];
  ReadExactly(header, kHeader);
  const uint32_t size = GetU32(header);
  if (size > kMaxBlock || read_offset_ + size > bytes_) {
    Fail(DataLossError("spill file: a block of " + std::to_string(size) + " bytes at byte " +
                       std::to_string(read_offset_ - kHeader) + " runs past its end"));
  }
  block.resize(size);
  ReadExactly(block.data(), size);
  if (shuffle::Crc32c(block) != GetU32(header + 4)) {
    Fail(DataLossError("spill file: checksum mismatch in the block at byte " +
                       std::to_string(read_offset_ - kHeader - size)));
  }
  return true;
}

}  // namespace ember::internal
