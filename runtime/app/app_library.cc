#include "runtime/app/app_library.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <openssl/evp.h>

#include "ember/application.h"
#include "ember/function.h"

namespace ember {

Result<std::string> Sha256File(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("reading " + path, errno);
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoError("reading " + path, err);
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

Result<std::unique_ptr<AppLibrary>> AppLibrary::Load(const std::string& path,
                                                     const std::string& entry_point) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoError("application " + path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return FailedPreconditionError("application " + path + " is not a regular file");
  }
  auto app = std::make_unique<AppLibrary>();
  app->path_ = path;
  app->size_ = static_cast<uint64_t>(st.st_size);
  ASSIGN_OR_RETURN(app->sha256_, Sha256File(path));
  // dlopen needs a path with a slash to skip the library search path.
  const std::string open_path = path.find('/') == std::string::npos ? "./" + path : path;
  void* handle = ::dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = ::dlerror();
    return FailedPreconditionError("cannot load application " + path + ": " +
                                   (err ? err : "unknown error"));
  }
  const std::string main_symbol =
      entry_point.empty() ? "ember_application_main" : "ember_entry_" + entry_point;
  const std::string abi_symbol =
      entry_point.empty() ? "ember_application_abi" : "ember_entry_" + entry_point + "_abi";
  const void* abi = ::dlsym(handle, abi_symbol.c_str());
  void* entry = ::dlsym(handle, main_symbol.c_str());
  if (entry == nullptr || abi == nullptr) {
    if (entry_point.empty()) {
      return FailedPreconditionError("application " + path +
                                     " has no Ember entry point (define it with EMBER_APPLICATION)");
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
