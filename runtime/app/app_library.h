// Loading an application library: the user's code, as a shared object with
// an EMBER_APPLICATION entry point. The driver loads it to run the program;
// executors load the same bytes (downloaded and checksummed) to run tasks.
//
// Thread-safety: Load is not reentrant (dlopen of the one application);
// call it once per process.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ember/status.h"
#include "ember/context.h"

namespace ember {

struct LoadOptions {
  // False for a downloaded library: a symbolic link is refused.
  bool follow_links = true;
  // When set, the bytes loaded must have this SHA-256 (hex).
  std::string expected_sha256;
};

class AppLibrary {
 public:
  using EntryPoint = int (*)(Context*, const std::vector<std::string>*);

  // Loads `path` and finds its entry point: EMBER_APPLICATION's when
  // `entry_point` is empty, else EMBER_ENTRY_POINT(entry_point, ...)'s. The
  // file is opened once; that descriptor is hashed and handed to the
  // dynamic loader (as /proc/self/fd/N), so the code that runs is the code
  // that was checked. Errors name the path: NOT_FOUND when it does not
  // exist, FAILED_PRECONDITION when it is a refused link, not a loadable
  // library, has no such entry point, or was built against another ABI;
  // DATA_LOSS when its checksum is not the expected one.
  static Result<std::unique_ptr<AppLibrary>> Load(const std::string& path,
                                                  const std::string& entry_point = "",
                                                  const LoadOptions& options = {});

  AppLibrary() = default;
  // The library stays loaded until the process exits: operators registered
  // from it may still be referenced by in-flight tasks and caches.
  ~AppLibrary() = default;

  EntryPoint entry() const { return entry_; }
  const std::string& path() const { return path_; }
  const std::string& sha256() const { return sha256_; }
  uint64_t size() const { return size_; }

 private:
  std::string path_;
  std::string sha256_;
  uint64_t size_ = 0;
  EntryPoint entry_ = nullptr;
};

// Hex SHA-256 of a file's contents.
Result<std::string> Sha256File(const std::string& path);

}  // namespace ember
