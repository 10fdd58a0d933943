// The file system layer: every path a job reads (textFile) or writes
// (saveAsTextFile) goes through a FileSystem chosen by the path's scheme.
// "file:///data/x" and plain "/data/x" are the local (or mounted shared)
// file system; other schemes (an object store, later) register a FileSystem
// once and every input and output path can use them.
//
// The operations are the ones exactly-once output needs: an exclusive
// directory create (no check-then-create race), unique temporary files, a
// rename that never replaces, and a recursive remove that reports what it
// could not remove.
//
// Thread-safety: FileSystem objects are shared and thread-safe; a
// ReadableFile or WritableFile is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ember/status.h"

namespace ember::fs {

enum class FileType { kRegular, kDirectory, kOther };

struct FileInfo {
  std::string path;
  FileType type = FileType::kOther;
  uint64_t size = 0;
};

class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // Reads up to `n` bytes at `offset`; fewer only at the end of the file (0
  // there). Errors name the path and offset.
  virtual Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n) = 0;
  // A hint that reading goes forward from `offset`.
  virtual void WillReadSequentially(uint64_t /*offset*/) {}
};

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view bytes) = 0;
  // Makes what was appended durable, then closes. After Close only the
  // destructor may be called.
  virtual Status SyncAndClose() = 0;
  virtual const std::string& path() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual std::string_view scheme() const = 0;

  // NOT_FOUND "<path> does not exist" when it does not.
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // The entries of a directory (not recursive), in no particular order.
  virtual Result<std::vector<FileInfo>> List(const std::string& dir) = 0;
  // The paths a shell-style pattern (*, ?, [...]) matches, sorted; an empty
  // vector when none.
  virtual Result<std::vector<std::string>> Glob(const std::string& pattern) = 0;
  virtual Result<std::unique_ptr<ReadableFile>> OpenForRead(const std::string& path) = 0;

  // Creates `dir` (and its missing parents). ALREADY_EXISTS when `dir`
  // exists, whatever it is, decided atomically by the file system.
  virtual Status CreateDirExclusive(const std::string& dir) = 0;
  // Creates `dir` and its missing parents; an existing directory is fine.
  virtual Status CreateDirs(const std::string& dir) = 0;
  // A new file in `dir` whose name starts with `prefix` and is unique, even
  // among processes on other machines sharing the directory.
  virtual Result<std::unique_ptr<WritableFile>> CreateUnique(const std::string& dir,
                                                             const std::string& prefix) = 0;
  // A new file at exactly `path`; ALREADY_EXISTS if there is one.
  virtual Result<std::unique_ptr<WritableFile>> CreateExclusive(const std::string& path) = 0;
  // Moves `from` to `to` atomically. ALREADY_EXISTS, and nothing moved, when
  // `to` exists: a committed file is never replaced.
  virtual Status RenameNoReplace(const std::string& from, const std::string& to) = 0;
  // Removes a file; NOT_FOUND when there is none.
  virtual Status Remove(const std::string& path) = 0;
  // Removes `path` and everything under it; OK if it does not exist. Entries
  // created while it runs (a late writer) are removed too, or named in the
  // error.
  virtual Status RemoveAll(const std::string& path) = 0;
  // Makes the entries of `dir` (creations, renames) durable.
  virtual Status SyncDir(const std::string& dir) = 0;
};

// A path split into its file system and the path that file system
// understands. `uri` is what the user wrote, kept for messages.
struct ResolvedPath {
  FileSystem* fs = nullptr;
  std::string path;
  std::string uri;
};

// Resolves "scheme://rest" or a plain path. Plain and file:// paths are
// made absolute against the current directory and normalised, since
// executors may run elsewhere. Errors: INVALID_ARGUMENT for an empty path,
// a file:// URI with a host, or a scheme no FileSystem is registered for
// (naming the schemes that are).
Result<ResolvedPath> Resolve(std::string_view uri);

// Registers the FileSystem for a scheme, before any job runs. Returns
// false if the scheme is taken.
bool RegisterFileSystem(std::string scheme, std::unique_ptr<FileSystem> fs);

// The local file system (also what "file" resolves to).
FileSystem& Local();

// Joins a directory and a name with one '/'.
std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace ember::fs
