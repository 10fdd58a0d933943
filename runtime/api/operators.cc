// The operators that need no user types: union, textFile, range, and the
// file handling of saveAsTextFile.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <tuple>

#include "ember/context.h"
#include "ember/operators.h"
#include "runtime/textio/line_reader.h"
#include "runtime/textio/splits.h"

namespace ember::internal {
namespace {

void RunUnion(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
  uint32_t offset = 0;
  for (size_t slot = 0; slot < node.parent_partitions.size(); ++slot) {
    const uint32_t n = node.parent_partitions[slot];
    if (partition < offset + n) {
      tc.RunParent(node, slot, partition - offset, out);
      return;
    }
    offset += n;
  }
  Fail(InvalidArgumentError("union has no partition " + std::to_string(partition)));
}

void RunTextFile(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
  auto split = textio::DecodeSplit(tc.Payload(node, partition));
  if (!split.ok()) Fail(split.status().WithContext("textFile split"));
  auto reader = textio::LineReader::Open(*split);
  if (!reader.ok()) Fail(reader.status());
  auto& down = As<std::string>(out);
  std::string line;
  std::string_view view;
  uint64_t records = 0;
  while ((*reader)->Next(&view)) {
    line.assign(view);
    if (++records % kCancelCheckEvery == 0) tc.CheckCancelled();
    down.Push(line);
  }
  tc.counters().records_in += records;
  if (!(*reader)->status().ok()) Fail((*reader)->status());
}

void RunRange(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
  auto spec = DecodeFromString<std::tuple<int64_t, int64_t, uint64_t>>(tc.Payload(node, partition));
  if (!spec.ok()) Fail(spec.status().WithContext("range slice"));
  auto [value, step, count] = *spec;
  auto& down = As<int64_t>(out);
  uint64_t v = static_cast<uint64_t>(value);
  for (uint64_t i = 0; i < count; ++i) {
    if (i % kCancelCheckEvery == kCancelCheckEvery - 1) tc.CheckCancelled();
    int64_t record = static_cast<int64_t>(v);
    down.Push(record);
    v += static_cast<uint64_t>(step);
  }
  tc.counters().records_in += count;
}

const bool kRegistered =
    RegisterInvoker(reinterpret_cast<const void*>(&RunUnion),
                    InvokerSignature{InvokerSignature::Kind::kNode, kSameAsParents, kSameAsParents,
                                     kAnyParents}) &&
    RegisterInvoker(reinterpret_cast<const void*>(&RunTextFile),
                    NodeSignature<std::string, void>::Get()) &&
    RegisterInvoker(reinterpret_cast<const void*>(&RunRange), NodeSignature<int64_t, void>::Get());

std::string PartName(uint32_t partition) {
  char name[32];
  std::snprintf(name, sizeof(name), "part-%05u", partition);
  return name;
}

constexpr const char* kTemporaryDir = "_temporary";

}  // namespace

// Computed once: FnRefOf asks the dynamic linker (dladdr), which costs
// microseconds, and the planner compares against UnionRef for every task.
FnRef UnionRef() {
  static const FnRef ref = FnRefOf(reinterpret_cast<const void*>(&RunUnion));
  return ref;
}
FnRef TextFileRef() {
  static const FnRef ref = FnRefOf(reinterpret_cast<const void*>(&RunTextFile));
  return ref;
}
FnRef RangeRef() {
  static const FnRef ref = FnRefOf(reinterpret_cast<const void*>(&RunRange));
  return ref;
}

TextPartWriter::TextPartWriter(const std::string& dir, uint32_t partition, uint32_t attempt) {
  (void)kRegistered;
  final_path_ = dir + "/" + PartName(partition);
  // Unique per attempt, even for two copies of one attempt on two machines
  // writing to a shared file system (an executor declared lost that still
  // runs): each gets its own temporary file.
  std::string tmpl = dir + "/" + kTemporaryDir + "/" + PartName(partition) + ".attempt-" +
                     std::to_string(attempt) + ".XXXXXX";
  fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd_ < 0) Fail(ErrnoError("saveAsTextFile: creating " + tmpl, errno));
  tmp_path_ = std::move(tmpl);
  // mkostemp creates 0600; output files are as readable as any other.
  ::fchmod(fd_, 0644);
}

TextPartWriter::~TextPartWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
  }
}

void TextPartWriter::Flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail(ErrnoError("saveAsTextFile: writing " + tmp_path_, errno));
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
}

void TextPartWriter::Commit() {
  Flush();
  if (::fsync(fd_) != 0) Fail(ErrnoError("saveAsTextFile: syncing " + tmp_path_, errno));
  if (::close(fd_) != 0) {
    fd_ = -1;
    Fail(ErrnoError("saveAsTextFile: closing " + tmp_path_, errno));
  }
  fd_ = -1;
  if (::rename(tmp_path_.c_str(), final_path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path_.c_str());
    Fail(ErrnoError("saveAsTextFile: renaming to " + final_path_, err));
  }
}

std::string PrepareTextOutput(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // Executors may run elsewhere in the file system tree; they get an
  // absolute path.
  const std::string dir = fs::absolute(path, ec).lexically_normal().string();
  if (dir.empty() || ec) {
    throw InvalidInput(InvalidArgumentError("saveAsTextFile: bad output path '" + path + "'"));
  }
  if (fs::exists(dir, ec)) {
    throw InvalidInput(AlreadyExistsError("saveAsTextFile: output directory " + dir +
                                          " already exists"));
  }
  fs::create_directories(fs::path(dir) / kTemporaryDir, ec);
  if (ec) {
    throw InvalidInput(
        Status(StatusCode::kPermissionDenied,
               "saveAsTextFile: cannot create output directory " + dir + ": " + ec.message()));
  }
  return dir;
}

void CommitTextOutput(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove_all(fs::path(dir) / kTemporaryDir, ec);
  const std::string marker = dir + "/_SUCCESS";
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw JobFailed(ErrnoError("saveAsTextFile: writing " + marker, errno));
  ::close(fd);
}

}  // namespace ember::internal
