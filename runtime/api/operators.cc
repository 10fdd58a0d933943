// The operators that need no user types: union, coalesce, textFile (with
// and without the file's path), wholeTextFiles, range, and the file
// handling of saveAsTextFile.
#include <cstdio>
#include <tuple>
#include <type_traits>
#include <utility>

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

// Partition p of n reads parent partitions [p * N / n, (p + 1) * N / n).
std::pair<uint32_t, uint32_t> CoalescedRange(uint32_t partition, uint32_t partitions,
                                             uint32_t parent_partitions) {
  const uint64_t n = partitions, parents = parent_partitions;
  return {static_cast<uint32_t>(parents * partition / n),
          static_cast<uint32_t>(parents * (partition + 1) / n)};
}

void RunCoalesce(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
  if (node.parent_partitions.size() != 1 || node.num_partitions == 0 ||
      partition >= node.num_partitions) {
    Fail(InvalidArgumentError("coalesce node " + std::to_string(node.index) +
                              " cannot compute partition " + std::to_string(partition)));
  }
  auto [first, last] = CoalescedRange(partition, node.num_partitions, node.parent_partitions[0]);
  for (uint32_t p = first; p < last; ++p) tc.RunParent(node, 0, p, out);
}

// The lines of one split, as `line` or as (file, line).
template <bool kWithPath>
void ReadLines(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
  auto split = textio::DecodeSplit(tc.Payload(node, partition));
  if (!split.ok()) Fail(split.status().WithContext("textFile split"));
  auto reader = textio::LineReader::Open(*split);
  if (!reader.ok()) Fail(reader.status());
  using Record = std::conditional_t<kWithPath, std::pair<std::string, std::string>, std::string>;
  auto& down = As<Record>(out);
  Record record;
  std::string& line = [&]() -> std::string& {
    if constexpr (kWithPath) {
      return record.second;
    } else {
      return record;
    }
  }();
  std::string_view view;
  uint64_t records = 0, bytes = 0;
  while ((*reader)->Next(&view)) {
    bytes += view.size() + 1;  // and its line break
    // Each time: the consumer may have moved the path out.
    if constexpr (kWithPath) record.first.assign(split->path);
    line.assign(view);
    if (++records % kCancelCheckEvery == 0) tc.CheckCancelled();
    down.Push(record);
  }
  tc.counters().records_in += records;
  tc.counters().input_bytes += bytes;
  if (!(*reader)->status().ok()) Fail((*reader)->status());
}

void RunTextFile(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
  ReadLines<false>(tc, node, partition, out);
}

void RunTextFileWithPath(TaskContext& tc, const NodeView& node, uint32_t partition,
                         ErasedConsumer& out) {
  ReadLines<true>(tc, node, partition, out);
}

// The fixed-length records of one split; the record length is the node's
// capture.
void RunBinaryRecords(TaskContext& tc, const NodeView& node, uint32_t partition,
                      ErasedConsumer& out) {
  auto split = textio::DecodeSplit(tc.Payload(node, partition));
  if (!split.ok()) Fail(split.status().WithContext("binaryRecords split"));
  auto record_bytes = DecodeFromString<uint64_t>(node.capture);
  if (!record_bytes.ok() || *record_bytes == 0 || split->length % *record_bytes != 0) {
    Fail(InvalidArgumentError("binaryRecords: bad record length for split of " + split->path));
  }
  auto where = fs::Resolve(split->path);
  if (!where.ok()) Fail(where.status().WithContext("binaryRecords"));
  auto file = where->fs->OpenForRead(where->path);
  if (!file.ok()) Fail(file.status().WithContext("binaryRecords"));
  (*file)->WillReadSequentially(split->offset);
  auto& down = As<std::string>(out);
  const uint64_t n = *record_bytes;
  // About 1 MiB of whole records per read.
  const uint64_t batch = std::max<uint64_t>(1, (uint64_t{1} << 20) / n) * n;
  std::string buffer;
  std::string record;
  uint64_t records = 0;
  for (uint64_t done = 0; done < split->length;) {
    const uint64_t want = std::min(batch, split->length - done);
    buffer.resize(want);
    for (uint64_t got = 0; got < want;) {
      auto r = (*file)->ReadAt(split->offset + done + got, buffer.data() + got, want - got);
      if (!r.ok()) Fail(r.status().WithContext("binaryRecords: reading " + split->path));
      if (*r == 0) {
        Fail(DataLossError("binaryRecords: " + split->path +
                           " ended inside a split (was it "
                           "truncated while the job ran?)"));
      }
      got += *r;
    }
    for (uint64_t at = 0; at < want; at += n) {
      record.assign(buffer, at, n);
      if (++records % kCancelCheckEvery == 0) tc.CheckCancelled();
      down.Push(record);
    }
    done += want;
    tc.counters().input_bytes += want;
  }
  tc.counters().records_in += records;
}

// (path, whole content) of each file of the partition.
void RunWholeTextFiles(TaskContext& tc, const NodeView& node, uint32_t partition,
                       ErasedConsumer& out) {
  auto files = DecodeFromString<std::vector<std::string>>(tc.Payload(node, partition));
  if (!files.ok()) Fail(files.status().WithContext("wholeTextFiles: bad file list"));
  auto& down = As<std::pair<std::string, std::string>>(out);
  for (std::string& path : *files) {
    tc.CheckCancelled();
    auto where = fs::Resolve(path);
    if (!where.ok()) Fail(where.status().WithContext("wholeTextFiles"));
    auto file = where->fs->OpenForRead(where->path);
    if (!file.ok()) Fail(file.status().WithContext("wholeTextFiles"));
    std::pair<std::string, std::string> record(std::move(path), std::string());
    constexpr size_t kChunk = 1 << 20;
    for (uint64_t offset = 0;;) {
      record.second.resize(offset + kChunk);
      auto n = (*file)->ReadAt(offset, record.second.data() + offset, kChunk);
      if (!n.ok()) Fail(n.status().WithContext("wholeTextFiles: reading " + record.first));
      offset += *n;
      record.second.resize(offset);
      if (*n == 0) break;
    }
    ++tc.counters().records_in;
    tc.counters().input_bytes += record.second.size();
    down.Push(record);
  }
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
    RegisterInvoker(
        reinterpret_cast<const void*>(&RunCoalesce),
        InvokerSignature{InvokerSignature::Kind::kNode, kSameAsParents, kSameAsParents, 1}) &&
    RegisterInvoker(reinterpret_cast<const void*>(&RunTextFile),
                    NodeSignature<std::string, void>::Get()) &&
    RegisterInvoker(reinterpret_cast<const void*>(&RunTextFileWithPath),
                    NodeSignature<std::pair<std::string, std::string>, void>::Get()) &&
    RegisterInvoker(reinterpret_cast<const void*>(&RunBinaryRecords),
                    NodeSignature<std::string, void>::Get()) &&
    RegisterInvoker(reinterpret_cast<const void*>(&RunWholeTextFiles),
                    NodeSignature<std::pair<std::string, std::string>, void>::Get()) &&
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
FnRef CoalesceRef() {
  static const FnRef ref = FnRefOf(reinterpret_cast<const void*>(&RunCoalesce));
  return ref;
}
std::pair<uint32_t, uint32_t> CoalescedParents(uint32_t partition, uint32_t partitions,
                                               uint32_t parent_partitions) {
  return CoalescedRange(partition, partitions, parent_partitions);
}
FnRef TextFileRef() {
  static const FnRef ref = FnRefOf(reinterpret_cast<const void*>(&RunTextFile));
  return ref;
}
FnRef TextFileWithPathRef() {
  static const FnRef ref = FnRefOf(reinterpret_cast<const void*>(&RunTextFileWithPath));
  return ref;
}
FnRef BinaryRecordsRef() {
  static const FnRef ref = FnRefOf(reinterpret_cast<const void*>(&RunBinaryRecords));
  return ref;
}
FnRef WholeTextFilesRef() {
  static const FnRef ref = FnRefOf(reinterpret_cast<const void*>(&RunWholeTextFiles));
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
  written_ += buffer_.size();
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
