#include "runtime/fs/file_system.h"

#include <cctype>
#include <filesystem>
#include <map>
#include <mutex>

namespace ember::fs {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<FileSystem>, std::less<>> by_scheme;
};

Registry& registry() {
  static Registry reg;
  return reg;
}

std::string KnownSchemes(Registry& reg) {
  std::string out = "file";
  for (const auto& [scheme, fs] : reg.by_scheme) out += ", " + scheme;
  return out;
}

Result<std::string> AbsoluteLocal(std::string_view path, std::string_view uri) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(std::filesystem::path(path), ec);
  if (ec) return ErrnoError("resolving path '" + std::string(uri) + "'", ec.value());
  std::string out = p.lexically_normal().string();
  // "/data/out/" normalises to "/data/out/"; the trailing slash would make
  // "/data/out/" and "/data/out" two names for one directory.
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

bool RegisterFileSystem(std::string scheme, std::unique_ptr<FileSystem> fs) {
  Registry& reg = registry();
  std::lock_guard lock(reg.mu);
  if (scheme == "file") return false;
  return reg.by_scheme.emplace(std::move(scheme), std::move(fs)).second;
}

Result<ResolvedPath> Resolve(std::string_view uri) {
  if (uri.empty()) return InvalidArgumentError("empty path");
  if (uri.find('\0') != std::string_view::npos) {
    return InvalidArgumentError("path contains a NUL byte");
  }
  const size_t sep = uri.find("://");
  // A scheme is letters, digits, '+', '-', '.' starting with a letter (RFC
  // 3986); anything else before "://" is part of a plain path.
  bool has_scheme =
      sep != std::string_view::npos && sep > 0 && std::isalpha(static_cast<unsigned char>(uri[0]));
  for (size_t i = 0; has_scheme && i < sep; ++i) {
    const char c = uri[i];
    has_scheme = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  }
  if (!has_scheme) {
    ASSIGN_OR_RETURN(std::string path, AbsoluteLocal(uri, uri));
    return ResolvedPath{&Local(), std::move(path), std::string(uri)};
  }
  const std::string_view scheme = uri.substr(0, sep);
  const std::string_view rest = uri.substr(sep + 3);
  if (scheme == "file") {
    // file:///abs/path; file://host/path names another machine.
    if (rest.empty() || rest.front() != '/') {
      return InvalidArgumentError("path '" + std::string(uri) +
                                  "': a file:// URI takes an absolute path and no host "
                                  "(file:///data/x)");
    }
    ASSIGN_OR_RETURN(std::string path, AbsoluteLocal(rest, uri));
    return ResolvedPath{&Local(), std::move(path), std::string(uri)};
  }
  Registry& reg = registry();
  std::lock_guard lock(reg.mu);
  auto it = reg.by_scheme.find(scheme);
  if (it == reg.by_scheme.end()) {
    return InvalidArgumentError("path '" + std::string(uri) + "': no file system for scheme '" +
                                std::string(scheme) + "' (known: " + KnownSchemes(reg) + ")");
  }
  return ResolvedPath{it->second.get(), std::string(uri), std::string(uri)};
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out.push_back('/');
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  out.append(name);
  return out;
}

}  // namespace ember::fs
