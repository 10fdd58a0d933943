#include "operator/kube/config/token_source.h"

#include <sys/stat.h>

#include <cerrno>

#include "operator/kube/config/config.h"

namespace ember::kube {
namespace {

std::string TrimToken(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

TokenSource::TokenSource(std::string static_token, std::string file)
    : static_token_(std::move(static_token)), file_(std::move(file)) {}

Result<std::string> TokenSource::Token() {
  if (file_.empty()) return static_token_;
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st {};
  if (stat(file_.c_str(), &st) != 0) {
    // The kubelet swaps the file through a symlink; a transient miss keeps the
    // last good token rather than failing the request.
    if (valid_) return cached_;
    return ErrnoError("token file " + file_, errno);
  }
  const bool changed = !valid_ || st.st_mtim.tv_sec != mtime_.tv_sec ||
                       st.st_mtim.tv_nsec != mtime_.tv_nsec || st.st_size != size_;
  if (!changed) return cached_;
  Result<std::string> contents = ReadFileToString(file_);
  if (!contents.ok()) {
    if (valid_) return cached_;
    return contents.status();
  }
  cached_ = TrimToken(std::move(contents).value());
  valid_ = true;
  mtime_ = st.st_mtim;
  size_ = st.st_size;
  return cached_;
}

void TokenSource::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  size_ = -1;
}

}  // namespace ember::kube
