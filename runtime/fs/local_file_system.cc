// The local file system: POSIX calls, with every errno turned into a status
// that names the path. Also what a shared volume mounted in every pod is.
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "runtime/fs/file_system.h"

namespace ember::fs {
namespace {

FileType TypeOf(mode_t mode) {
  if (S_ISREG(mode)) return FileType::kRegular;
  if (S_ISDIR(mode)) return FileType::kDirectory;
  return FileType::kOther;
}

class LocalReadableFile final : public ReadableFile {
 public:
  LocalReadableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~LocalReadableFile() override { ::close(fd_); }
  LocalReadableFile(const LocalReadableFile&) = delete;
  LocalReadableFile& operator=(const LocalReadableFile&) = delete;

  Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      const ssize_t got = ::pread(fd_, buf + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("reading " + path_ + " at offset " + std::to_string(offset + done),
                          errno);
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

  void WillReadSequentially(uint64_t offset) override {
    // Advisory only: doubles kernel read-ahead on most file systems.
    (void)::posix_fadvise(fd_, static_cast<off_t>(offset), 0, POSIX_FADV_SEQUENTIAL);
  }

 private:
  std::string path_;
  int fd_;
};

class LocalWritableFile final : public WritableFile {
 public:
  LocalWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~LocalWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  LocalWritableFile(const LocalWritableFile&) = delete;
  LocalWritableFile& operator=(const LocalWritableFile&) = delete;

  Status Append(std::string_view bytes) override {
    if (fd_ < 0) return FailedPreconditionError("writing " + path_ + " after it was closed");
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("writing " + path_, errno);
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  Status SyncAndClose() override {
    if (fd_ < 0) return FailedPreconditionError("closing " + path_ + " twice");
    const int fd = fd_;
    fd_ = -1;
    if (::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoError("syncing " + path_, err);
    }
    // A failed close after a good fsync can still mean lost data on NFS.
    if (::close(fd) != 0) return ErrnoError("closing " + path_, errno);
    return Status::Ok();
  }

  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  int fd_;
};

class LocalFileSystem final : public FileSystem {
 public:
  std::string_view scheme() const override { return "file"; }

  Result<FileInfo> Stat(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      const int err = errno;
      if (err == ENOENT || err == ENOTDIR) return NotFoundError(path + " does not exist");
      return ErrnoError("stat " + path, err);
    }
    return FileInfo{path, TypeOf(st.st_mode), static_cast<uint64_t>(st.st_size)};
  }

  Result<std::vector<FileInfo>> List(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoError("listing " + dir, errno);
    std::unique_ptr<DIR, int (*)(DIR*)> closer(d, &::closedir);
    std::vector<FileInfo> out;
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(d);
      if (e == nullptr) {
        if (errno != 0) return ErrnoError("listing " + dir, errno);
        break;
      }
      const std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string path = JoinPath(dir, name);
      struct stat st {};
      // Vanished since readdir saw it: not an entry any more.
      if (::stat(path.c_str(), &st) != 0) continue;
      out.push_back(FileInfo{path, TypeOf(st.st_mode), static_cast<uint64_t>(st.st_size)});
    }
    return out;
  }

  Result<std::vector<std::string>> Glob(const std::string& pattern) override {
    glob_t g{};
    const int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
    std::unique_ptr<glob_t, void (*)(glob_t*)> freer(&g, &::globfree);
    if (rc == GLOB_NOMATCH) return std::vector<std::string>();
    if (rc == GLOB_NOSPACE) return ResourceExhaustedError("out of memory expanding " + pattern);
    if (rc != 0) return UnavailableError("read error expanding " + pattern);
    std::vector<std::string> out(g.gl_pathv, g.gl_pathv + g.gl_pathc);
    return out;
  }

  Result<std::unique_ptr<ReadableFile>> OpenForRead(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("opening " + path, errno);
    return std::unique_ptr<ReadableFile>(std::make_unique<LocalReadableFile>(path, fd));
  }

  Status CreateDirExclusive(const std::string& dir) override {
    const size_t slash = dir.find_last_of('/');
    if (slash != std::string::npos && slash > 0) RETURN_IF_ERROR(CreateDirs(dir.substr(0, slash)));
    if (::mkdir(dir.c_str(), 0755) != 0) {
      const int err = errno;
      if (err == EEXIST) return AlreadyExistsError(dir + " already exists");
      return ErrnoError("creating directory " + dir, err);
    }
    return Status::Ok();
  }

  Status CreateDirs(const std::string& dir) override {
    if (dir.empty()) return Status::Ok();
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Status::Ok();
      return FailedPreconditionError(dir + " exists and is not a directory");
    }
    const size_t slash = dir.find_last_of('/');
    if (slash != std::string::npos && slash > 0) RETURN_IF_ERROR(CreateDirs(dir.substr(0, slash)));
    // Another process may create it in between: that is success too.
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError("creating directory " + dir, errno);
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<WritableFile>> CreateUnique(const std::string& dir,
                                                     const std::string& prefix) override {
    std::string tmpl = JoinPath(dir, prefix + ".XXXXXX");
    const int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) return ErrnoError("creating a file in " + dir, errno);
    // mkostemp creates 0600; output files are as readable as any other.
    if (::fchmod(fd, 0644) != 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmpl.c_str());
      return ErrnoError("chmod " + tmpl, err);
    }
    return std::unique_ptr<WritableFile>(std::make_unique<LocalWritableFile>(tmpl, fd));
  }

  Result<std::unique_ptr<WritableFile>> CreateExclusive(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      const int err = errno;
      if (err == EEXIST) return AlreadyExistsError(path + " already exists");
      return ErrnoError("creating " + path, err);
    }
    return std::unique_ptr<WritableFile>(std::make_unique<LocalWritableFile>(path, fd));
  }

  Status RenameNoReplace(const std::string& from, const std::string& to) override {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
      return Status::Ok();
    }
    int err = errno;
    if (err == EINVAL || err == ENOSYS) {
      // The file system has no RENAME_NOREPLACE (some network file
      // systems): link(2) also refuses an existing target, atomically.
      if (::link(from.c_str(), to.c_str()) == 0) {
        (void)::unlink(from.c_str());
        return Status::Ok();
      }
      err = errno;
    }
    if (err == EEXIST) return AlreadyExistsError(to + " already exists");
    return ErrnoError("renaming " + from + " to " + to, err);
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      const int err = errno;
      if (err == ENOENT) return NotFoundError(path + " does not exist");
      return ErrnoError("removing " + path, err);
    }
    return Status::Ok();
  }

  Status RemoveAll(const std::string& path) override {
    // A writer that was already past its checks may add an entry while the
    // tree is removed; each pass removes what the last one missed.
    constexpr int kPasses = 5;
    Status last;
    for (int pass = 0; pass < kPasses; ++pass) {
      last = RemoveTree(path);
      if (last.ok()) return last;
      if (last.code() != StatusCode::kFailedPrecondition) return last;
    }
    return last;
  }

  Status SyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("opening directory " + dir, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoError("syncing directory " + dir, err);
    return Status::Ok();
  }

 private:
  // FAILED_PRECONDITION when a directory was not empty by the time it was
  // removed (something was added meanwhile).
  Status RemoveTree(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return ErrnoError("removing " + path, errno);
    }
    if (!S_ISDIR(st.st_mode)) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return ErrnoError("removing " + path, errno);
      }
      return Status::Ok();
    }
    std::vector<std::string> children;
    {
      DIR* d = ::opendir(path.c_str());
      if (d == nullptr) {
        if (errno == ENOENT) return Status::Ok();
        return ErrnoError("listing " + path, errno);
      }
      std::unique_ptr<DIR, int (*)(DIR*)> closer(d, &::closedir);
      for (;;) {
        errno = 0;
        const dirent* e = ::readdir(d);
        if (e == nullptr) {
          if (errno != 0) return ErrnoError("listing " + path, errno);
          break;
        }
        const std::string_view name = e->d_name;
        if (name != "." && name != "..") children.push_back(JoinPath(path, name));
      }
    }
    for (const std::string& child : children) RETURN_IF_ERROR(RemoveTree(child));
    if (::rmdir(path.c_str()) != 0) {
      const int err = errno;
      if (err == ENOENT) return Status::Ok();
      if (err == ENOTEMPTY || err == EEXIST) {
        return FailedPreconditionError(path + " gained entries while it was removed");
      }
      return ErrnoError("removing " + path, err);
    }
    return Status::Ok();
  }
};

}  // namespace

FileSystem& Local() {
  static LocalFileSystem local;
  return local;
}

}  // namespace ember::fs
