#include "runtime/textio/splits.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include <ember/record.h>

namespace ember::textio {
namespace {

namespace fs = std::filesystem;

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

// Owns a glob_t so every return path frees it.
class GlobResult {
 public:
  GlobResult() = default;
  ~GlobResult() {
    if (used_) globfree(&g_);
  }
  GlobResult(const GlobResult&) = delete;
  GlobResult& operator=(const GlobResult&) = delete;
  glob_t* get() {
    used_ = true;
    return &g_;
  }

 private:
  glob_t g_{};
  bool used_ = false;
};

enum class EmptyDirectory { kError, kAllow };

// Appends the directory's visible regular files, sorted by name.
Status ListDirectory(const std::string& dir, EmptyDirectory empty, std::vector<std::string>* out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return ErrnoError("listing input directory " + dir, ec.value());
  std::vector<std::string> files;
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    if (IsHiddenName(name)) continue;
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec)) continue;  // subdirectories are not recursed into
    files.push_back(entry.path().string());
  }
  if (files.empty() && empty == EmptyDirectory::kError) {
    return NotFoundError("input directory " + dir + " has no files");
  }
  std::sort(files.begin(), files.end());
  out->insert(out->end(), files.begin(), files.end());
  return Status();
}

Status ExpandGlob(const std::string& pattern, std::vector<std::string>* out) {
  GlobResult g;
  const int rc = glob(pattern.c_str(), GLOB_ERR, nullptr, g.get());
  if (rc == GLOB_NOMATCH) return NotFoundError("no files match " + pattern);
  if (rc == GLOB_NOSPACE) return ResourceExhaustedError("out of memory expanding " + pattern);
  if (rc != 0) return UnavailableError("read error expanding " + pattern);
  const size_t before = out->size();
  for (size_t i = 0; i < g.get()->gl_pathc; ++i) {
    const std::string match = g.get()->gl_pathv[i];
    struct stat st {};
    if (::stat(match.c_str(), &st) != 0) continue;  // vanished since glob() saw it
    if (S_ISDIR(st.st_mode)) {
      // A glob may sweep up empty directories; only an empty overall
      // result is an error.
      RETURN_IF_ERROR(ListDirectory(match, EmptyDirectory::kAllow, out));
    } else if (S_ISREG(st.st_mode)) {
      out->push_back(match);
    }
  }
  if (out->size() == before) return NotFoundError("no files match " + pattern);
  return Status();
}

Status ExpandOne(const std::string& pattern, std::vector<std::string>* out) {
  if (pattern.find_first_of(kGlobChars) != std::string::npos) return ExpandGlob(pattern, out);
  struct stat st {};
  if (::stat(pattern.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return NotFoundError("input path does not exist: " + pattern);
    return ErrnoError("stat " + pattern, err);
  }
  if (S_ISDIR(st.st_mode)) return ListDirectory(pattern, EmptyDirectory::kError, out);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgumentError("input path is not a regular file or directory: " + pattern);
  }
  out->push_back(pattern);
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
    RETURN_IF_ERROR(ExpandOne(std::string(piece), &files));
  }
  if (!any_pattern) return InvalidArgumentError("empty input path");
  return files;
}

Result<std::vector<FileSplit>> ComputeSplits(const std::vector<std::string>& files,
                                             uint32_t min_partitions, uint64_t max_split_bytes) {
  if (files.empty()) return InvalidArgumentError("no input files to split");
  std::vector<uint64_t> sizes;
  sizes.reserve(files.size());
  uint64_t total = 0;
  for (const std::string& path : files) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return ErrnoError("stat " + path, errno);
    if (!S_ISREG(st.st_mode)) return InvalidArgumentError("input is not a regular file: " + path);
    sizes.push_back(static_cast<uint64_t>(st.st_size));
    total += sizes.back();
  }
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
