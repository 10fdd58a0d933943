#include "runtime/textio/line_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace ember::textio {
namespace {

// Past the split's end only the rest of its last line is needed, which is
// usually short; read in modest pieces there rather than a whole buffer.
constexpr size_t kTailReadBytes = size_t{64} << 10;
constexpr size_t kMinBufferBytes = 1;
constexpr size_t kGrowthFactor = 2;

std::string_view StripCr(const char* p, size_t n) {
  if (n > 0 && p[n - 1] == '\r') --n;
  return std::string_view(p, n);
}

}  // namespace

Result<std::unique_ptr<LineReader>> LineReader::Open(const FileSplit& split) {
  return Open(split, kDefaultBufferBytes);
}

Result<std::unique_ptr<LineReader>> LineReader::Open(const FileSplit& split, size_t buffer_bytes) {
  if (split.length > std::numeric_limits<uint64_t>::max() - split.offset) {
    return InvalidArgumentError("split of " + split.path + " has offset + length overflowing");
  }
  ASSIGN_OR_RETURN(fs::ResolvedPath where, fs::Resolve(split.path));
  ASSIGN_OR_RETURN(std::unique_ptr<fs::ReadableFile> file, where.fs->OpenForRead(where.path));
  file->WillReadSequentially(split.offset);
  // A small split needs no big buffer; the buffer grows if a line demands.
  const uint64_t enough = split.length + kTailReadBytes;
  const size_t initial = enough < buffer_bytes ? static_cast<size_t>(enough) : buffer_bytes;
  return std::make_unique<LineReader>(PrivateTag(), split, std::move(file),
                                      std::max(initial, kMinBufferBytes));
}

LineReader::LineReader(PrivateTag, FileSplit split, std::unique_ptr<fs::ReadableFile> file,
                       size_t buffer_bytes)
    : split_(std::move(split)),
      file_(std::move(file)),
      split_end_(split_.offset + split_.length),
      buf_(std::make_unique_for_overwrite<char[]>(buffer_bytes)),
      capacity_(buffer_bytes) {
  // Reading from offset-1 lets one scan for '\n' both skip a partial first
  // line and notice that a line starts exactly at offset.
  if (split_.offset > 0) {
    file_pos_ = split_.offset - 1;
    need_skip_ = true;
  }
}

LineReader::~LineReader() = default;

bool LineReader::Stop(Status status) {
  done_ = true;
  status_ = std::move(status);
  return false;
}

LineReader::Fill LineReader::ReadMore() {
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == capacity_) {
    // A line longer than the buffer: keep all of it and grow.
    const size_t grown = capacity_ * kGrowthFactor;
    auto bigger = std::make_unique_for_overwrite<char[]>(grown);
    std::memcpy(bigger.get(), buf_.get(), end_);
    buf_ = std::move(bigger);
    capacity_ = grown;
  }
  size_t want = capacity_ - end_;
  if (file_pos_ >= split_end_) {
    want = std::min(want, kTailReadBytes);
  } else {
    const uint64_t to_end = split_end_ - file_pos_ + kTailReadBytes;
    if (to_end < want) want = static_cast<size_t>(to_end);
  }
  auto n = file_->ReadAt(file_pos_, buf_.get() + end_, want);
  if (!n.ok()) {
    Stop(n.status());
    return Fill::kError;
  }
  if (*n == 0) {
    eof_ = true;
    return Fill::kEof;
  }
  end_ += *n;
  file_pos_ += *n;
  bytes_read_ += *n;
  return Fill::kData;
}

bool LineReader::SkipPartialLine() {
  for (;;) {
    const char* start = buf_.get() + begin_;
    const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
    if (nl != nullptr) {
      begin_ = static_cast<size_t>(nl - buf_.get()) + 1;
      return true;
    }
    begin_ = end_;  // none of it belongs to this split
    if (eof_) {
      if (file_pos_ < split_end_) {
        return Stop(DataLossError("input file " + split_.path + " shrank: split ends at " +
                                  std::to_string(split_end_) + " but the file has " +
                                  std::to_string(file_pos_) + " bytes"));
      }
      return Stop(Status());
    }
    if (ReadMore() == Fill::kError) return false;
  }
}

bool LineReader::Next(std::string_view* line) {
  if (done_) return false;
  if (need_skip_) {
    need_skip_ = false;
    if (!SkipPartialLine()) return false;
  }
  if (NextLineOffset() >= split_end_) return Stop(Status());
  size_t scanned = 0;  // bytes after begin_ already known to hold no '\n'
  for (;;) {
    const char* start = buf_.get() + begin_;
    const size_t avail = end_ - begin_;
    const auto* nl = static_cast<const char*>(std::memchr(start + scanned, '\n', avail - scanned));
    if (nl != nullptr) {
      const auto len = static_cast<size_t>(nl - start);
      begin_ += len + 1;
      *line = StripCr(start, len);
      return true;
    }
    scanned = avail;
    if (eof_) {
      if (avail == 0) {
        return Stop(DataLossError("input file " + split_.path + " shrank: split ends at " +
                                  std::to_string(split_end_) + " but the file has " +
                                  std::to_string(file_pos_) + " bytes"));
      }
      begin_ = end_;  // the file's last line, without a final '\n'
      *line = StripCr(start, avail);
      return true;
    }
    if (ReadMore() == Fill::kError) return false;
  }
}

}  // namespace ember::textio
