#include "runtime/app/app_library.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <cerrno>

#include "ember/application.h"
#include "ember/function.h"

namespace ember {

namespace {

std::string Hex(const unsigned char* digest, unsigned int len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

// SHA-256 of everything readable from `fd` at offset 0 on.
Result<std::string> Sha256Fd(int fd, const std::string& path) {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return InternalError("initialising SHA-256");
  }
  std::string buf(1 << 20, '\0');
  for (off_t offset = 0;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("reading " + path, errno);
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
    offset += n;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  return Hex(digest, len);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Leaves the descriptor open for the life of the process.
  void Keep() { fd_ = -1; }

 private:
  int fd_;
};

}  // namespace

Result<std::string> Sha256File(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError("reading " + path, errno);
  return Sha256Fd(fd.get(), path);
}

Result<std::unique_ptr<AppLibrary>> AppLibrary::Load(const std::string& path,
                                                     const std::string& entry_point,
                                                     const LoadOptions& options) {
  // One descriptor is hashed and loaded: what runs is the bytes that were
  // checked, whatever happens to the path meanwhile.
  const int flags = O_RDONLY | O_CLOEXEC | (options.follow_links ? 0 : O_NOFOLLOW);
  Fd fd(::open(path.c_str(), flags));
  if (fd.get() < 0) {
    if (errno == ELOOP && !options.follow_links) {
      return FailedPreconditionError("application " + path +
                                     " is a symbolic link; a downloaded library must not be");
    }
    return ErrnoError("application " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("application " + path, errno);
  if (!S_ISREG(st.st_mode)) {
    return FailedPreconditionError("application " + path + " is not a regular file");
  }
  auto app = std::make_unique<AppLibrary>();
  app->path_ = path;
  app->size_ = static_cast<uint64_t>(st.st_size);
  ASSIGN_OR_RETURN(app->sha256_, Sha256Fd(fd.get(), path));
  if (!options.expected_sha256.empty() && app->sha256_ != options.expected_sha256) {
    return DataLossError("application " + path + " has SHA-256 " + app->sha256_ + ", expected " +
                         options.expected_sha256);
  }
  const std::string open_path = "/proc/self/fd/" + std::to_string(fd.get());
  void* handle = ::dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* message = ::dlerror();  // clears the error: read it once
    std::string err = message != nullptr ? message : "unknown error";
    // dlerror names the /proc path; the user knows the file by its name.
    const size_t at = err.find(open_path);
    if (at != std::string::npos) err.replace(at, open_path.size(), path);
    std::string why = "cannot load application " + path + ": " + err;
    if (err.find("failed to map segment") != std::string::npos) {
      // What a noexec mount (a tmpfs by default in Docker) looks like.
      why += " (is its directory on a file system mounted noexec? executors load the library "
             "from --local-dir)";
    }
    return FailedPreconditionError(std::move(why));
  }
  // The loader knows the library by the name /proc/self/fd/N; were N
  // closed and reused, a later dlopen of that name would get this library
  // back instead of opening the new file. Libraries are never unloaded, so
  // neither is their descriptor closed.
  fd.Keep();
  const std::string main_symbol =
      entry_point.empty() ? "ember_application_main" : "ember_entry_" + entry_point;
  const std::string abi_symbol =
      entry_point.empty() ? "ember_application_abi" : "ember_entry_" + entry_point + "_abi";
  const void* abi = ::dlsym(handle, abi_symbol.c_str());
  void* entry = ::dlsym(handle, main_symbol.c_str());
  if (entry == nullptr || abi == nullptr) {
    if (entry_point.empty()) {
      return FailedPreconditionError(
          "application " + path + " has no Ember entry point (define it with EMBER_APPLICATION)");
    }
    return FailedPreconditionError("application " + path + " has no entry point '" + entry_point +
                                   "' (define it with EMBER_ENTRY_POINT(" + entry_point +
                                   ", ctx, args))");
  }
  const int version = *static_cast<const int*>(abi);
  if (version != EMBER_ABI_VERSION) {
    return FailedPreconditionError("application " + path + " was built against Ember ABI " +
                                   std::to_string(version) + ", this runtime has ABI " +
                                   std::to_string(EMBER_ABI_VERSION));
  }
  app->entry_ = reinterpret_cast<EntryPoint>(entry);
  internal::SetApplicationLibrary(entry);
  return app;
}

}  // namespace ember
