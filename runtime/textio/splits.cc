#include "runtime/textio/splits.h"

#include <algorithm>

#include <ember/record.h>

#include "runtime/fs/file_system.h"

namespace ember::textio {
namespace {

// Format tag in front of an encoded split, so a task description from an
// incompatible build fails loudly instead of reading garbage.
constexpr uint8_t kSplitFormatVersion = 1;
constexpr char kPatternSeparator = ',';
constexpr std::string_view kGlobChars = "*?[";
// The last split of a file may exceed the goal by this fraction (numerator /
// denominator) instead of leaving a tiny tail split, as Hadoop does.
constexpr uint64_t kSlopNumerator = 1;
constexpr uint64_t kSlopDenominator = 10;

bool IsHiddenName(std::string_view name) {
  return !name.empty() && (name.front() == '.' || name.front() == '_');
}

std::string_view BaseName(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

enum class EmptyDirectory { kError, kAllow };

// Appends the directory's visible regular files, sorted by name.
Status ListDirectory(fs::FileSystem& fsys, const std::string& dir, EmptyDirectory empty,
                     std::vector<std::string>* out) {
  auto entries = fsys.List(dir);
  if (!entries.ok()) return entries.status().WithContext("listing input directory");
  std::vector<std::string> files;
  for (const fs::FileInfo& entry : *entries) {
    if (IsHiddenName(BaseName(entry.path))) continue;
    // Subdirectories are not recursed into.
    if (entry.type == fs::FileType::kRegular) files.push_back(entry.path);
  }
  if (files.empty() && empty == EmptyDirectory::kError) {
    return NotFoundError("input directory " + dir + " has no files");
  }
  std::sort(files.begin(), files.end());
  out->insert(out->end(), files.begin(), files.end());
  return Status();
}

Status ExpandGlob(fs::FileSystem& fsys, const std::string& pattern, std::vector<std::string>* out) {
  ASSIGN_OR_RETURN(std::vector<std::string> matches, fsys.Glob(pattern));
  std::sort(matches.begin(), matches.end());
  const size_t before = out->size();
  for (const std::string& match : matches) {
    auto info = fsys.Stat(match);
    if (!info.ok()) continue;  // vanished since the glob saw it
    if (info->type == fs::FileType::kDirectory) {
      // A glob may sweep up empty directories; only an empty overall
      // result is an error.
      RETURN_IF_ERROR(ListDirectory(fsys, match, EmptyDirectory::kAllow, out));
    } else if (info->type == fs::FileType::kRegular) {
      out->push_back(match);
    }
  }
  if (out->size() == before) return NotFoundError("no files match " + pattern);
  return Status();
}

Status ExpandOne(std::string_view piece, std::vector<std::string>* out) {
  ASSIGN_OR_RETURN(fs::ResolvedPath where, fs::Resolve(piece));
  fs::FileSystem& fsys = *where.fs;
  if (where.path.find_first_of(kGlobChars) != std::string::npos) {
    return ExpandGlob(fsys, where.path, out);
  }
  auto info = fsys.Stat(where.path);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound) {
      return NotFoundError("input path does not exist: " + where.path);
    }
    return info.status();
  }
  if (info->type == fs::FileType::kDirectory) {
    return ListDirectory(fsys, where.path, EmptyDirectory::kError, out);
  }
  if (info->type != fs::FileType::kRegular) {
    return InvalidArgumentError("input path is not a regular file or directory: " + where.path);
  }
  out->push_back(where.path);
  return Status();
}

}  // namespace

Result<std::vector<std::string>> ExpandInputPaths(std::string_view pattern) {
  std::vector<std::string> files;
  bool any_pattern = false;
  size_t start = 0;
  while (start <= pattern.size()) {
    size_t comma = pattern.find(kPatternSeparator, start);
    if (comma == std::string_view::npos) comma = pattern.size();
    const std::string_view piece = pattern.substr(start, comma - start);
    start = comma + 1;
    if (piece.empty()) continue;
    any_pattern = true;
    RETURN_IF_ERROR(ExpandOne(piece, &files));
  }
  if (!any_pattern) return InvalidArgumentError("empty input path");
  return files;
}

namespace {

// Each file's size; every one must be a regular file.
Result<std::vector<uint64_t>> FileSizes(const std::vector<std::string>& files) {
  if (files.empty()) return InvalidArgumentError("no input files to split");
  std::vector<uint64_t> sizes;
  sizes.reserve(files.size());
  for (const std::string& path : files) {
    ASSIGN_OR_RETURN(fs::ResolvedPath where, fs::Resolve(path));
    ASSIGN_OR_RETURN(fs::FileInfo info, where.fs->Stat(where.path));
    if (info.type != fs::FileType::kRegular) {
      return InvalidArgumentError("input is not a regular file: " + path);
    }
    sizes.push_back(info.size);
  }
  return sizes;
}

}  // namespace

Result<std::vector<FileSplit>> ComputeSplits(const std::vector<std::string>& files,
                                             uint32_t min_partitions, uint64_t max_split_bytes) {
  ASSIGN_OR_RETURN(std::vector<uint64_t> sizes, FileSizes(files));
  uint64_t total = 0;
  for (uint64_t size : sizes) total += size;
  const uint64_t goal = total / std::max<uint32_t>(min_partitions, 1);
  const uint64_t split_bytes = std::max(std::min(goal, max_split_bytes), kMinSplitBytes);
  const uint64_t slop = split_bytes / kSlopDenominator * kSlopNumerator;

  std::vector<FileSplit> splits;
  for (size_t i = 0; i < files.size(); ++i) {
    const uint64_t size = sizes[i];
    uint64_t pos = 0;
    while (size - pos > split_bytes + slop) {
      splits.push_back(FileSplit{files[i], pos, split_bytes});
      pos += split_bytes;
    }
    if (size > pos) splits.push_back(FileSplit{files[i], pos, size - pos});
  }
  if (splits.empty()) splits.push_back(FileSplit{files.front(), 0, 0});
  return splits;
}

Result<std::vector<FileSplit>> ComputeRecordSplits(const std::vector<std::string>& files,
                                                   uint64_t record_bytes, uint32_t min_partitions) {
  if (record_bytes == 0 || record_bytes > (uint64_t{1} << 30)) {
    return InvalidArgumentError("record length must be from 1 byte to 1 GiB, not " +
                                std::to_string(record_bytes));
  }
  ASSIGN_OR_RETURN(std::vector<uint64_t> sizes, FileSizes(files));
  uint64_t total = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    if (sizes[i] % record_bytes != 0) {
      return InvalidArgumentError(files[i] + " is " + std::to_string(sizes[i]) +
                                  " bytes, not a whole number of " + std::to_string(record_bytes) +
                                  "-byte records");
    }
    total += sizes[i];
  }
  const uint64_t goal = total / std::max<uint32_t>(min_partitions, 1);
  const uint64_t records = std::max(std::max(goal, kMinSplitBytes) / record_bytes, uint64_t{1});
  const uint64_t split_bytes = records * record_bytes;
  std::vector<FileSplit> splits;
  for (size_t i = 0; i < files.size(); ++i) {
    for (uint64_t pos = 0; pos < sizes[i]; pos += split_bytes) {
      splits.push_back(FileSplit{files[i], pos, std::min(split_bytes, sizes[i] - pos)});
    }
  }
  if (splits.empty()) splits.push_back(FileSplit{files.front(), 0, 0});
  return splits;
}

std::string EncodeSplit(const FileSplit& split) {
  std::string out;
  RecordWriter w(out);
  Encode(w, kSplitFormatVersion);
  Encode(w, split.path);
  Encode(w, split.offset);
  Encode(w, split.length);
  return out;
}

Result<FileSplit> DecodeSplit(std::string_view bytes) {
  RecordReader r(bytes);
  uint8_t version = 0;
  RETURN_IF_ERROR_CTX(Decode(r, version), "decoding file split");
  if (version != kSplitFormatVersion) {
    return DataLossError("decoding file split: unknown format version " + std::to_string(version));
  }
  FileSplit split;
  RETURN_IF_ERROR_CTX(Decode(r, split.path), "decoding file split");
  RETURN_IF_ERROR_CTX(Decode(r, split.offset), "decoding file split");
  RETURN_IF_ERROR_CTX(Decode(r, split.length), "decoding file split");
  if (!r.AtEnd()) {
    return DataLossError("decoding file split: " + std::to_string(r.remaining()) +
                         " trailing bytes");
  }
  if (split.length > UINT64_MAX - split.offset) {
    return DataLossError("decoding file split: offset + length overflows");
  }
  return split;
}

}  // namespace ember::textio
