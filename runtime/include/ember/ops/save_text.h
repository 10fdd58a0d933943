// saveAsTextFile and saveAsBinaryFile: each partition written to a part
// file, committed by exactly one attempt, the directory marked complete by
// the driver.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ember/function.h"
#include "ember/record.h"
#include "ember/task.h"
#include "ember/text_format.h"

namespace ember::fs {
class FileSystem;
class WritableFile;
}  // namespace ember::fs

namespace ember::internal {

// Writes one part file of a text output. Lines go to a temporary file under
// DIR/_temporary, unique to the attempt; Commit (called only once the
// driver has authorised this attempt) syncs it and renames it to
// DIR/part-NNNNN without ever replacing an existing part. A failed or killed
// attempt leaves only its temporary file, which the driver removes.
class TextPartWriter {
 public:
  TextPartWriter(const std::string& dir, uint32_t partition, uint32_t attempt);
  ~TextPartWriter();
  TextPartWriter(const TextPartWriter&) = delete;
  TextPartWriter& operator=(const TextPartWriter&) = delete;
  std::string& buffer() { return buffer_; }
  void MaybeFlush() {
    if (buffer_.size() >= kFlushBytes) Flush();
  }
  // Flushes, syncs and renames into place; throws TaskError on failure.
  void Commit();
  uint64_t bytes_written() const { return written_; }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;
  void Flush();
  fs::FileSystem* fs_ = nullptr;
  std::unique_ptr<fs::WritableFile> file_;
  std::string final_path_;
  std::string buffer_;
  uint64_t written_ = 0;
};

// Driver side of saveAsTextFile. Prepare creates the directory, refusing
// one that exists (atomically), and returns the path executors write to.
// Commit checks that every part is there, removes the temporaries and only
// then writes _SUCCESS. Abort removes the directory and all in it, for a
// job that failed. Each throws InvalidInput or JobFailed naming the path.
std::string PrepareTextOutput(const std::string& path);
void CommitTextOutput(const std::string& dir, uint32_t partitions);
void AbortTextOutput(const std::string& dir) noexcept;

// kRaw: each record's bytes as they are (saveAsBinaryFile, for
// std::string records); otherwise one line of text per record.
template <typename T, bool kRaw = false>
struct SaveTextSink {
  static std::string Run(TaskContext& tc, const NodeView& top, uint32_t partition,
                         std::string_view capture) {
    (void)Registered<&Run, ResultSignature<T>>::value;
    auto dir = DecodeFromString<std::string>(capture);
    if (!dir.ok()) Fail(dir.status().WithContext("saving: bad output path"));
    TextPartWriter writer(*dir, partition, tc.attempt());
    class Formatter final : public Consumer<T> {
     public:
      Formatter(TextPartWriter& w, TaskContext& tc) : writer_(w), tc_(tc) {}
      void Push(T& v) override {
        if constexpr (kRaw) {
          writer_.buffer().append(v);
        } else {
          AppendText(writer_.buffer(), v);
          writer_.buffer().push_back('\n');
        }
        if (++count % kCancelCheckEvery == 0) tc_.CheckCancelled();
        writer_.MaybeFlush();
      }
      uint64_t count = 0;

     private:
      TextPartWriter& writer_;
      TaskContext& tc_;
    } formatter(writer, tc);
    tc.RunNode(top.index, partition, formatter);
    // Exactly one attempt per partition renames its file into place.
    tc.AskCommit();
    writer.Commit();
    tc.counters().records_out += formatter.count;
    tc.counters().output_bytes += writer.bytes_written();
    return std::string();
  }
};

}  // namespace ember::internal
