// Shuffle files: one per map task, holding that task's output for every
// reducer, written once and then served segment by segment to reducers.
//
// File layout (all integers little-endian):
//   segment 0 | segment 1 | ... | segment R-1 | index | footer
//   segment  = zero or more blocks for that reducer, in append order
//   block    = u32 payload length | u32 CRC32C of payload | payload
//   index    = R+1 u64 offsets; segment r is [index[r], index[r+1])
//   footer   = u64 index offset | u32 R | u32 CRC32C of index | u64 magic
//
// Blocks are the unit of integrity: the reducer checks each block's CRC as it
// arrives (BlockParser), so corruption on disk or in transit is caught before
// any record is decoded. The index and footer are validated on every read so
// a truncated or foreign file fails with DATA_LOSS naming the path.
//
// A file appears under its final name only when complete: the writer works on
// a temporary name and renames on Commit(), so readers never see a partial
// file and a failed task leaves nothing behind.
//
// Thread-safety: ShuffleFileWriter and BlockParser are used by one thread at
// a time. ReadSegment is reentrant; any number of threads may read the same
// committed file concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ember/status.h"

namespace ember::shuffle {

// Larger blocks are rejected on write and treated as corruption on read, so
// a damaged length field cannot make a reader allocate gigabytes.
inline constexpr uint32_t kMaxBlockPayloadBytes = uint32_t{64} << 20;
inline constexpr size_t kBlockHeaderBytes = 8;
inline constexpr size_t kFooterBytes = 24;
inline constexpr uint64_t kShuffleFileMagic = 0x3146554853424d45ull;  // "EMBSHUF1" on disk
inline constexpr size_t kDefaultChunkBytes = size_t{1} << 20;

class ShuffleFileWriter {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Starts a file that will become `final_path` on Commit(). INVALID_ARGUMENT
  // for num_reducers == 0; the open error (naming the temp path) otherwise.
  static Result<std::unique_ptr<ShuffleFileWriter>> Create(const std::string& final_path,
                                                           uint32_t num_reducers);

  ShuffleFileWriter(PrivateTag, std::string final_path, std::string tmp_path, int fd,
                    uint32_t num_reducers);
  // Without a successful Commit(), removes the temporary file.
  ~ShuffleFileWriter();
  ShuffleFileWriter(const ShuffleFileWriter&) = delete;
  ShuffleFileWriter& operator=(const ShuffleFileWriter&) = delete;

  // Appends one block to reducer `reduce_id`'s segment. Reducer ids must be
  // non-decreasing across calls (skipped reducers get empty segments).
  // INVALID_ARGUMENT for an id out of range or going backwards, or a payload
  // over kMaxBlockPayloadBytes; FAILED_PRECONDITION after Commit() or after
  // an earlier write error; the write error itself otherwise.
  Status AppendBlock(uint32_t reduce_id, std::string_view payload);

  // Writes index and footer, closes, and atomically renames over final_path.
  // Returns the bytes in each reducer's segment (framing included), which is
  // what a reducer will fetch. The file is not fsync()ed: shuffle output is
  // recomputed from lineage if a node loses it.
  Result<std::vector<uint64_t>> Commit();

  const std::string& temp_path() const { return tmp_path_; }

 private:
  enum class State { kOpen, kCommitted, kFailed };

  Status Flush();
  Status WriteAll(const char* data, size_t n);
  Status Fail(Status status);
  void CloseFd();

  std::string final_path_;
  std::string tmp_path_;
  int fd_;
  uint32_t num_reducers_;
  uint32_t current_reducer_ = 0;
  std::vector<uint64_t> offsets_;  // num_reducers_ + 1 segment boundaries
  uint64_t position_ = 0;          // logical file size, buffered bytes included
  std::string buffer_;
  State state_ = State::kOpen;
};

// One reducer's segment of a committed shuffle file, open for reading at
// any offset (a fetch resumes where a failed one stopped). The index and
// footer are checked when it is opened.
class SegmentReader {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Errors: the open error (NOT_FOUND when missing); DATA_LOSS naming the
  // path for a malformed or truncated file; INVALID_ARGUMENT for a reduce_id
  // beyond the file's reducers.
  static Result<std::unique_ptr<SegmentReader>> Open(const std::string& path, uint32_t reduce_id);

  SegmentReader(PrivateTag, std::string path, int fd, uint64_t begin, uint64_t end,
                uint64_t version);
  ~SegmentReader();
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;

  uint64_t size() const { return end_ - begin_; }
  // Never 0; differs when the file under the path was replaced.
  uint64_t version() const { return version_; }
  // Replaces *out with up to `n` bytes from `offset` into the segment (fewer
  // only at its end). OUT_OF_RANGE past the end.
  Status Read(uint64_t offset, size_t n, std::string* out);

 private:
  std::string path_;
  int fd_;
  uint64_t begin_;
  uint64_t end_;
  uint64_t version_;
};

// Streams reducer `reduce_id`'s segment of the committed file at `path` to
// `sink` in pieces of at most `chunk_bytes` (0 means kDefaultChunkBytes). An
// empty segment calls `sink` zero times. Errors: as SegmentReader::Open; any
// error `sink` returns, unchanged.
Status ReadSegment(const std::string& path, uint32_t reduce_id, size_t chunk_bytes,
                   const std::function<Status(std::string_view)>& sink);

// Splits a segment's byte stream back into verified block payloads. Chunks
// may cut blocks anywhere; complete blocks inside a chunk are passed on
// without copying, only blocks straddling chunks are reassembled.
// After any error the parser stays failed and returns that error again.
class BlockParser {
 public:
  // Calls on_block with each complete block's payload (valid only during the
  // call). DATA_LOSS "shuffle block checksum mismatch" or for an oversized
  // length; errors from on_block are returned unchanged.
  Status Feed(std::string_view chunk,
              const std::function<Status(std::string_view payload)>& on_block);

  // DATA_LOSS "shuffle segment truncated" if a partial block is pending.
  Status Finish();

  uint64_t blocks() const { return blocks_; }

 private:
  Status Deliver(std::string_view payload, uint32_t expected_crc,
                 const std::function<Status(std::string_view)>& on_block);
  Status Fail(Status status);

  std::string pending_;  // bytes of a block that straddles chunks
  uint32_t pending_length_ = 0;
  uint64_t blocks_ = 0;
  Status error_;
};

}  // namespace ember::shuffle
