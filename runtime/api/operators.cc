// The operators that need no user types: union, textFile, range, and the
// file handling of saveAsTextFile.
#include <cstdio>
#include <tuple>

#include "common/log.h"
#include "ember/context.h"
#include "ember/operators.h"
#include "runtime/fs/file_system.h"
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
  auto where = fs::Resolve(dir);
  if (!where.ok()) Fail(where.status().WithContext("saveAsTextFile"));
  fs_ = where->fs;
  final_path_ = fs::JoinPath(where->path, PartName(partition));
  // Unique per attempt, even for two copies of one attempt on two machines
  // writing to a shared file system (an executor declared lost that still
  // runs): each gets its own temporary file. If the driver has removed the
  // directory (the job failed), this fails instead of recreating it.
  auto file = fs_->CreateUnique(fs::JoinPath(where->path, kTemporaryDir),
                                PartName(partition) + ".attempt-" + std::to_string(attempt));
  if (!file.ok()) Fail(file.status().WithContext("saveAsTextFile"));
  file_ = std::move(*file);
}

TextPartWriter::~TextPartWriter() {
  if (file_ != nullptr) {
    const std::string tmp = file_->path();
    file_.reset();
    (void)fs_->Remove(tmp);
  }
}

void TextPartWriter::Flush() {
  Status st = file_->Append(buffer_);
  if (!st.ok()) Fail(st.WithContext("saveAsTextFile"));
  buffer_.clear();
}

void TextPartWriter::Commit() {
  Flush();
  const std::string tmp = file_->path();
  Status st = file_->SyncAndClose();
  file_.reset();
  if (st.ok()) st = fs_->RenameNoReplace(tmp, final_path_);
  if (st.code() == StatusCode::kAlreadyExists) {
    // Only an authorised attempt renames, after syncing, so an existing
    // part is a complete copy: an attempt whose success the driver never
    // heard of (its executor was declared lost just after the rename).
    // Keep that copy; this attempt's is the same records.
    (void)fs_->Remove(tmp);
    return;
  }
  if (!st.ok()) {
    (void)fs_->Remove(tmp);
    Fail(st.WithContext("saveAsTextFile: committing " + final_path_));
  }
}

std::string PrepareTextOutput(const std::string& path) {
  auto where = fs::Resolve(path);
  if (!where.ok()) {
    throw InvalidInput(where.status().WithContext("saveAsTextFile: bad output path"));
  }
  const std::string& dir = where->path;
  // One atomic create decides: two jobs writing to one directory cannot
  // both pass a check that it does not exist.
  Status st = where->fs->CreateDirExclusive(dir);
  if (st.code() == StatusCode::kAlreadyExists) {
    throw InvalidInput(
        AlreadyExistsError("saveAsTextFile: output directory " + dir + " already exists"));
  }
  if (!st.ok())
    throw InvalidInput(st.WithContext("saveAsTextFile: cannot create output directory"));
  st = where->fs->CreateDirs(fs::JoinPath(dir, kTemporaryDir));
  if (!st.ok()) {
    AbortTextOutput(dir);
    throw InvalidInput(st.WithContext("saveAsTextFile: cannot create output directory"));
  }
  return dir;
}

void CommitTextOutput(const std::string& dir, uint32_t partitions) {
  auto where = fs::Resolve(dir);
  if (!where.ok()) throw JobFailed(where.status().WithContext("saveAsTextFile"));
  fs::FileSystem& fsys = *where->fs;
  // Every partition's task reported success; its part must be there. A
  // missing one means the file system lost a rename: fail, do not mark it
  // complete.
  for (uint32_t p = 0; p < partitions; ++p) {
    const std::string part = fs::JoinPath(dir, PartName(p));
    auto info = fsys.Stat(part);
    if (!info.ok() || info->type != fs::FileType::kRegular) {
      throw JobFailed(
          DataLossError("saveAsTextFile: " + part + " is missing although its task succeeded"));
    }
  }
  Status st = fsys.RemoveAll(fs::JoinPath(dir, kTemporaryDir));
  if (!st.ok()) throw JobFailed(st.WithContext("saveAsTextFile: removing temporary files"));
  auto marker = fsys.CreateExclusive(fs::JoinPath(dir, "_SUCCESS"));
  if (!marker.ok()) throw JobFailed(marker.status().WithContext("saveAsTextFile"));
  st = (*marker)->SyncAndClose();
  if (st.ok()) st = fsys.SyncDir(dir);
  if (!st.ok()) throw JobFailed(st.WithContext("saveAsTextFile"));
}

void AbortTextOutput(const std::string& dir) noexcept {
  auto where = fs::Resolve(dir);
  Status st = where.ok() ? where->fs->RemoveAll(where->path) : where.status();
  if (!st.ok()) {
    EMBER_LOG(kWarning) << "saveAsTextFile: the job failed and its output directory " << dir
                        << " could not be removed: " << st.ToString();
  }
}

}  // namespace ember::internal
