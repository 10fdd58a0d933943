// Text input, part 2: the lines of one split.
//
// A line belongs to the split that holds its first byte. So a split that
// starts at offset > 0 skips the partial line it starts in (unless byte
// offset-1 is '\n', i.e. a line starts exactly at offset), and its last line
// is read whole even when it runs past the split's end. Over all splits of a
// file, every line is produced exactly once.
//
// Lines end at '\n'; a trailing '\r' is stripped (so CRLF files read as
// expected). The last line of a file without a final '\n' is still a line;
// an empty file has no lines.
//
// The reader does large reads (through the file system layer, fs/) into one
// buffer and hands out views into it; there is no per-line allocation. A
// line longer than the buffer grows it.
//
// Thread-safety: a LineReader is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ember/status.h"
#include "runtime/fs/file_system.h"
#include "runtime/textio/splits.h"

namespace ember::textio {

class LineReader {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  static constexpr size_t kDefaultBufferBytes = size_t{4} << 20;

  // Opens the split's file. NOT_FOUND / PERMISSION_DENIED etc. naming the
  // path when it cannot be opened.
  static Result<std::unique_ptr<LineReader>> Open(const FileSplit& split);
  // Same, with an explicit initial buffer size (tests use tiny buffers to
  // exercise refills and growth).
  static Result<std::unique_ptr<LineReader>> Open(const FileSplit& split, size_t buffer_bytes);

  LineReader(PrivateTag, FileSplit split, std::unique_ptr<fs::ReadableFile> file,
             size_t buffer_bytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Sets *line to the next line of the split, without its terminator. The
  // view stays valid until the next call. Returns false at the end of the
  // split or on error; status() tells which.
  bool Next(std::string_view* line);

  // OK, or the error that ended reading (I/O error, file shorter than the
  // split, ...), naming the path.
  const Status& status() const { return status_; }

  // Bytes read from the file so far (includes read-ahead past the split end).
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  enum class Fill { kData, kEof, kError };

  // Reads more of the file after the buffered bytes, compacting and growing
  // the buffer as needed. Keeps bytes from begin_ on.
  Fill ReadMore();
  // Drops everything up to and including the first '\n'. False at EOF/error.
  bool SkipPartialLine();
  bool Stop(Status status);

  uint64_t NextLineOffset() const { return file_pos_ - (end_ - begin_); }

  FileSplit split_;
  std::unique_ptr<fs::ReadableFile> file_;
  uint64_t split_end_;
  std::unique_ptr<char[]> buf_;
  size_t capacity_;
  size_t begin_ = 0;       // first unconsumed byte in buf_
  size_t end_ = 0;         // one past the last buffered byte
  uint64_t file_pos_ = 0;  // file offset of buf_[end_]
  bool need_skip_ = false;
  bool eof_ = false;
  bool done_ = false;
  uint64_t bytes_read_ = 0;
  Status status_;
};

}  // namespace ember::textio
