// The bearer token to send, with rotation.
//
// In a pod the kubelet rewrites the projected service account token file well
// before it expires (by default hourly). TokenSource re-reads the file when
// its modification time or size changes, and whenever the caller reports a
// 401 through Invalidate(), so a rotated token is picked up without a
// restart. A static token (from a kubeconfig) is returned as is.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <ctime>
#include <mutex>
#include <string>

#include "ember/status.h"

namespace ember::kube {

class TokenSource {
 public:
  // Uses `file` when non-empty, `static_token` otherwise (which may be empty:
  // no Authorization header).
  TokenSource(std::string static_token, std::string file);

  // The current token; an error only when the file cannot be read and no
  // earlier read succeeded.
  Result<std::string> Token();

  // Forces a re-read on the next Token().
  void Invalidate();

  bool from_file() const { return !file_.empty(); }

 private:
  const std::string static_token_;
  const std::string file_;
  std::mutex mu_;
  std::string cached_;
  bool valid_ = false;
  timespec mtime_{};
  long long size_ = -1;
};

}  // namespace ember::kube
