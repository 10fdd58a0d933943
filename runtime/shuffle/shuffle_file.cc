#include "runtime/shuffle/shuffle_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "runtime/shuffle/crc32c.h"

namespace ember::shuffle {
namespace {

// Blocks are gathered into writes of about this size; payloads at least this
// big skip the buffer and go straight to the file.
constexpr size_t kWriteBufferBytes = size_t{1} << 20;
constexpr size_t kIndexEntryBytes = 8;
constexpr mode_t kFileMode = 0644;

template <class U>
U ToLe(U v) {
  if constexpr (std::endian::native == std::endian::big) {
    if constexpr (sizeof(U) == 4) return __builtin_bswap32(v);
    if constexpr (sizeof(U) == 8) return __builtin_bswap64(v);
  }
  return v;
}

template <class U>
void PutLe(char* p, U v) {
  v = ToLe(v);
  std::memcpy(p, &v, sizeof(v));
}

template <class U>
U GetLe(const char* p) {
  U v;
  std::memcpy(&v, p, sizeof(v));
  return ToLe(v);
}

void PutBlockHeader(char* header, std::string_view payload) {
  PutLe<uint32_t>(header, static_cast<uint32_t>(payload.size()));
  PutLe<uint32_t>(header + 4, Crc32c(payload));
}

// Distinct per writer within a process; the pid and clock separate processes
// and restarts, and O_EXCL guards against anything left over.
std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1)) + "." +
         std::to_string(static_cast<uint64_t>(now));
}

Status PreadFull(int fd, char* buf, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("reading shuffle file " + path, errno);
    }
    if (r == 0) {
      return DataLossError("shuffle file " + path +
                           " truncated: unexpected end of file at offset " +
                           std::to_string(offset));
    }
    buf += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return Status();
}

Status Malformed(const std::string& path, const std::string& what) {
  return DataLossError("malformed shuffle file " + path + ": " + what);
}

}  // namespace

// ---- Writer ----------------------------------------------------------------

Result<std::unique_ptr<ShuffleFileWriter>> ShuffleFileWriter::Create(const std::string& final_path,
                                                                     uint32_t num_reducers) {
  if (num_reducers == 0) {
    return InvalidArgumentError("shuffle file " + final_path + " needs at least one reducer");
  }
  std::string tmp_path = final_path + ".tmp." + UniqueSuffix();
  const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
  if (fd < 0) return ErrnoError("creating shuffle file " + tmp_path, errno);
  return std::make_unique<ShuffleFileWriter>(PrivateTag(), final_path, std::move(tmp_path), fd,
                                             num_reducers);
}

ShuffleFileWriter::ShuffleFileWriter(PrivateTag, std::string final_path, std::string tmp_path,
                                     int fd, uint32_t num_reducers)
    : final_path_(std::move(final_path)),
      tmp_path_(std::move(tmp_path)),
      fd_(fd),
      num_reducers_(num_reducers),
      offsets_(static_cast<size_t>(num_reducers) + 1, 0) {
  buffer_.reserve(kWriteBufferBytes);
}

ShuffleFileWriter::~ShuffleFileWriter() {
  CloseFd();
  if (state_ != State::kCommitted) ::unlink(tmp_path_.c_str());
}

void ShuffleFileWriter::CloseFd() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Status ShuffleFileWriter::Fail(Status status) {
  state_ = State::kFailed;
  return status;
}

Status ShuffleFileWriter::WriteAll(const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd_, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrnoError("writing shuffle file " + tmp_path_, errno));
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status();
}

Status ShuffleFileWriter::Flush() {
  if (buffer_.empty()) return Status();
  Status s = WriteAll(buffer_.data(), buffer_.size());
  buffer_.clear();
  return s;
}

Status ShuffleFileWriter::AppendBlock(uint32_t reduce_id, std::string_view payload) {
  if (state_ != State::kOpen) {
    return FailedPreconditionError(
        "shuffle file " + final_path_ +
        (state_ == State::kCommitted ? " is already committed" : " had a write error"));
  }
  if (reduce_id >= num_reducers_) {
    return InvalidArgumentError("reduce id " + std::to_string(reduce_id) + " out of range for " +
                                std::to_string(num_reducers_) + " reducers");
  }
  if (reduce_id < current_reducer_) {
    return InvalidArgumentError("reduce id " + std::to_string(reduce_id) + " after " +
                                std::to_string(current_reducer_) +
                                ": blocks must be appended in reducer order");
  }
  if (payload.size() > kMaxBlockPayloadBytes) {
    return InvalidArgumentError("shuffle block of " + std::to_string(payload.size()) +
                                " bytes exceeds the " + std::to_string(kMaxBlockPayloadBytes) +
                                " byte limit");
  }
  for (uint32_t r = current_reducer_ + 1; r <= reduce_id; ++r) offsets_[r] = position_;
  current_reducer_ = reduce_id;

  char header[kBlockHeaderBytes];
  PutBlockHeader(header, payload);
  if (payload.size() >= kWriteBufferBytes) {
    RETURN_IF_ERROR(Flush());
    RETURN_IF_ERROR(WriteAll(header, sizeof(header)));
    RETURN_IF_ERROR(WriteAll(payload.data(), payload.size()));
  } else {
    if (buffer_.size() + sizeof(header) + payload.size() > kWriteBufferBytes) {
      RETURN_IF_ERROR(Flush());
    }
    buffer_.append(header, sizeof(header));
    buffer_.append(payload);
  }
  position_ += sizeof(header) + payload.size();
  return Status();
}

Result<std::vector<uint64_t>> ShuffleFileWriter::Commit() {
  if (state_ != State::kOpen) {
    return FailedPreconditionError(
        "shuffle file " + final_path_ +
        (state_ == State::kCommitted ? " is already committed" : " had a write error"));
  }
  for (uint32_t r = current_reducer_ + 1; r <= num_reducers_; ++r) offsets_[r] = position_;
  const uint64_t index_offset = position_;

  std::string tail((offsets_.size()) * kIndexEntryBytes + kFooterBytes, '\0');
  for (size_t i = 0; i < offsets_.size(); ++i)
    PutLe<uint64_t>(&tail[i * kIndexEntryBytes], offsets_[i]);
  const size_t index_bytes = offsets_.size() * kIndexEntryBytes;
  char* footer = &tail[index_bytes];
  PutLe<uint64_t>(footer, index_offset);
  PutLe<uint32_t>(footer + 8, num_reducers_);
  PutLe<uint32_t>(footer + 12, Crc32c(std::string_view(tail.data(), index_bytes)));
  PutLe<uint64_t>(footer + 16, kShuffleFileMagic);

  RETURN_IF_ERROR(Flush());
  RETURN_IF_ERROR(WriteAll(tail.data(), tail.size()));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return Fail(ErrnoError("closing shuffle file " + tmp_path_, errno));
  if (::rename(tmp_path_.c_str(), final_path_.c_str()) != 0) {
    return Fail(ErrnoError("renaming " + tmp_path_ + " to " + final_path_, errno));
  }
  state_ = State::kCommitted;

  std::vector<uint64_t> sizes(num_reducers_);
  for (uint32_t r = 0; r < num_reducers_; ++r) sizes[r] = offsets_[r + 1] - offsets_[r];
  return sizes;
}

// ---- Reader ----------------------------------------------------------------

SegmentReader::SegmentReader(PrivateTag, std::string path, int fd, uint64_t begin, uint64_t end,
                             uint64_t version)
    : path_(std::move(path)), fd_(fd), begin_(begin), end_(end), version_(version) {}

SegmentReader::~SegmentReader() {
  ::close(fd_);
}

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(const std::string& path,
                                                           uint32_t reduce_id) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening shuffle file " + path, errno);
  // Owns fd from here on, whatever is returned.
  auto fail = [fd](Status st) {
    ::close(fd);
    return st;
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(ErrnoError("stat shuffle file " + path, errno));
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < kFooterBytes) {
    return fail(Malformed(path, std::to_string(file_size) + " bytes is smaller than the footer"));
  }
  char footer[kFooterBytes];
  if (Status s = PreadFull(fd, footer, sizeof(footer), file_size - kFooterBytes, path); !s.ok()) {
    return fail(s);
  }
  if (GetLe<uint64_t>(footer + 16) != kShuffleFileMagic) return fail(Malformed(path, "bad magic"));
  const uint64_t index_offset = GetLe<uint64_t>(footer);
  const uint32_t num_reducers = GetLe<uint32_t>(footer + 8);
  const uint32_t index_crc = GetLe<uint32_t>(footer + 12);
  if (num_reducers == 0) return fail(Malformed(path, "zero reducers"));
  const uint64_t index_bytes = (static_cast<uint64_t>(num_reducers) + 1) * kIndexEntryBytes;
  if (file_size - kFooterBytes < index_bytes ||
      index_offset != file_size - kFooterBytes - index_bytes) {
    return fail(Malformed(path, "index of " + std::to_string(num_reducers) +
                                    " reducers at offset " + std::to_string(index_offset) +
                                    " does not fit a file of " + std::to_string(file_size) +
                                    " bytes"));
  }
  if (reduce_id >= num_reducers) {
    return fail(InvalidArgumentError("reduce id " + std::to_string(reduce_id) +
                                     " out of range: shuffle file " + path + " has " +
                                     std::to_string(num_reducers) + " reducers"));
  }
  std::string index(static_cast<size_t>(index_bytes), '\0');
  if (Status s = PreadFull(fd, index.data(), index.size(), index_offset, path); !s.ok()) {
    return fail(s);
  }
  if (Crc32c(index) != index_crc) return fail(Malformed(path, "index checksum mismatch"));
  uint64_t prev = 0;
  for (uint32_t r = 0; r <= num_reducers; ++r) {
    const uint64_t off = GetLe<uint64_t>(&index[r * kIndexEntryBytes]);
    if (off < prev || (r == 0 && off != 0) || (r == num_reducers && off != index_offset)) {
      return fail(Malformed(path, "segment offsets are not monotonic within the data region"));
    }
    prev = off;
  }
  const uint64_t begin = GetLe<uint64_t>(&index[reduce_id * kIndexEntryBytes]);
  const uint64_t end = GetLe<uint64_t>(&index[(reduce_id + 1) * kIndexEntryBytes]);
  // Which file this is: a re-run map task commits a new file (a new inode,
  // a new mtime) under the same name.
  uint64_t version = static_cast<uint64_t>(st.st_ino) * 0x9e3779b97f4a7c15ull;
  version ^= static_cast<uint64_t>(st.st_dev) + 0x632be59bd9b4e019ull + (version << 6);
  version ^= static_cast<uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000ull +
             static_cast<uint64_t>(st.st_mtim.tv_nsec) + (version >> 2);
  version ^= file_size * 0xff51afd7ed558ccdull;
  if (version == 0) version = 1;
  return std::make_unique<SegmentReader>(PrivateTag(), path, fd, begin, end, version);
}

Status SegmentReader::Read(uint64_t offset, size_t n, std::string* out) {
  if (offset > size()) {
    return OutOfRangeError("offset " + std::to_string(offset) + " is past the end of a " +
                           std::to_string(size()) + "-byte segment of " + path_);
  }
  const auto take = static_cast<size_t>(std::min<uint64_t>(n, size() - offset));
  out->resize(take);
  return PreadFull(fd_, out->data(), take, begin_ + offset, path_);
}

Status ReadSegment(const std::string& path, uint32_t reduce_id, size_t chunk_bytes,
                   const std::function<Status(std::string_view)>& sink) {
  ASSIGN_OR_RETURN(std::unique_ptr<SegmentReader> segment, SegmentReader::Open(path, reduce_id));
  const size_t chunk = chunk_bytes == 0 ? kDefaultChunkBytes : chunk_bytes;
  std::string buf;
  for (uint64_t pos = 0; pos < segment->size(); pos += buf.size()) {
    RETURN_IF_ERROR(segment->Read(pos, chunk, &buf));
    RETURN_IF_ERROR(sink(buf));
  }
  return Status();
}

// ---- Block parser ----------------------------------------------------------

Status BlockParser::Fail(Status status) {
  error_ = status;
  return status;
}

Status BlockParser::Deliver(std::string_view payload, uint32_t expected_crc,
                            const std::function<Status(std::string_view)>& on_block) {
  const uint32_t actual = Crc32c(payload);
  if (actual != expected_crc) {
    return Fail(DataLossError("shuffle block checksum mismatch in block " +
                              std::to_string(blocks_) + " (" + std::to_string(payload.size()) +
                              " bytes)"));
  }
  ++blocks_;
  Status s = on_block(payload);
  if (!s.ok()) return Fail(std::move(s));
  return Status();
}

Status BlockParser::Feed(std::string_view chunk,
                         const std::function<Status(std::string_view)>& on_block) {
  if (!error_.ok()) return error_;
  const auto oversized = [this](uint32_t length) {
    return Fail(DataLossError("shuffle block length " + std::to_string(length) + " exceeds the " +
                              std::to_string(kMaxBlockPayloadBytes) + " byte limit"));
  };
  while (!chunk.empty()) {
    if (pending_.empty()) {
      // Fast path: whole blocks inside the chunk are delivered in place.
      if (chunk.size() >= kBlockHeaderBytes) {
        const uint32_t length = GetLe<uint32_t>(chunk.data());
        if (length > kMaxBlockPayloadBytes) return oversized(length);
        if (chunk.size() - kBlockHeaderBytes >= length) {
          RETURN_IF_ERROR(Deliver(chunk.substr(kBlockHeaderBytes, length),
                                  GetLe<uint32_t>(chunk.data() + 4), on_block));
          chunk.remove_prefix(kBlockHeaderBytes + length);
          continue;
        }
        pending_length_ = length;
        pending_.reserve(kBlockHeaderBytes + length);
      }
      pending_.assign(chunk);
      return Status();
    }
    if (pending_.size() < kBlockHeaderBytes) {
      const size_t take = std::min(kBlockHeaderBytes - pending_.size(), chunk.size());
      pending_.append(chunk.substr(0, take));
      chunk.remove_prefix(take);
      if (pending_.size() < kBlockHeaderBytes) return Status();
      pending_length_ = GetLe<uint32_t>(pending_.data());
      if (pending_length_ > kMaxBlockPayloadBytes) return oversized(pending_length_);
      pending_.reserve(kBlockHeaderBytes + pending_length_);
    }
    const size_t need = kBlockHeaderBytes + pending_length_ - pending_.size();
    const size_t take = std::min(need, chunk.size());
    pending_.append(chunk.substr(0, take));
    chunk.remove_prefix(take);
    if (take < need) return Status();
    RETURN_IF_ERROR(Deliver(std::string_view(pending_).substr(kBlockHeaderBytes),
                            GetLe<uint32_t>(pending_.data() + 4), on_block));
    pending_.clear();
  }
  return Status();
}

Status BlockParser::Finish() {
  if (!error_.ok()) return error_;
  if (!pending_.empty()) {
    const size_t expected = pending_.size() < kBlockHeaderBytes
                                ? kBlockHeaderBytes
                                : kBlockHeaderBytes + pending_length_;
    return Fail(DataLossError("shuffle segment truncated: incomplete block, " +
                              std::to_string(pending_.size()) + " of " + std::to_string(expected) +
                              " bytes"));
  }
  return Status();
}

}  // namespace ember::shuffle
