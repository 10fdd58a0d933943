// ember-bench-baseline: the hand-written, single-threaded word count that
// Ember's WordCount is measured against.
//
//   ember-bench-baseline INPUT_DIR OUT_FILE
//
// It is meant to be what a competent engineer writes by hand in twenty
// minutes, and no more: big read()s, a byte loop over a separator table,
// std::unordered_map with a decent hash probed by std::string_view (so no
// string is built for a word already counted). No SIMD, no custom hash table,
// no threads. Anything cleverer would measure the baseline, not Ember.
//
// Words are split exactly as examples/word_count.cc splits them (maximal runs
// of bytes other than space, \t, \n, \r, \f and \v), so the counts must match
// Ember's output. INPUT_DIR's files are read in name order, skipping names
// that start with '.' or '_' as Ember's textFile does. OUT_FILE gets
// "word<TAB>count" lines in no particular order; the elapsed time goes to
// stdout.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kReadBufferBytes = size_t{8} << 20;
// About the vocabulary of a large English text; saves the early rehashes.
constexpr size_t kExpectedDistinctWords = size_t{1} << 17;
constexpr size_t kOutputFlushBytes = size_t{1} << 20;

// std::hash<std::string_view> (libstdc++: 64-bit Murmur-style) made
// transparent, so find() takes a string_view.
struct WordHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using Counts = std::unordered_map<std::string, int64_t, WordHash, std::equal_to<>>;

struct SeparatorTable {
  bool is_sep[256] = {};
  constexpr SeparatorTable() {
    for (unsigned char c : {' ', '\t', '\n', '\r', '\f', '\v'}) is_sep[c] = true;
  }
};
constexpr SeparatorTable kSeparators;

void Count(Counts& counts, std::string_view word) {
  auto it = counts.find(word);
  if (it != counts.end()) {
    ++it->second;
  } else {
    counts.emplace(word, 1);
  }
}

// Counts the words of one file. A word cut by the buffer's end is moved to
// the buffer's front and completed by the next read.
bool CountFile(const std::string& path, char* buf, Counts& counts, uint64_t& bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "ember-bench-baseline: %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  size_t carry = 0;  // bytes of an unfinished word at buf[0..carry)
  for (;;) {
    const ssize_t n = ::read(fd, buf + carry, kReadBufferBytes - carry);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "ember-bench-baseline: reading %s: %s\n", path.c_str(),
                   std::strerror(errno));
      ::close(fd);
      return false;
    }
    bytes += static_cast<uint64_t>(n);
    const bool eof = n == 0;
    const size_t end = carry + static_cast<size_t>(n);
    size_t next_carry = 0;
    size_t i = 0;
    for (;;) {
      while (i < end && kSeparators.is_sep[static_cast<unsigned char>(buf[i])]) ++i;
      const size_t start = i;
      while (i < end && !kSeparators.is_sep[static_cast<unsigned char>(buf[i])]) ++i;
      if (i == start) break;  // only separators left
      if (i == end && !eof) {
        // The word may go on in the next read.
        if (start == 0 && end == kReadBufferBytes) {
          // Counting it in pieces would be wrong, and text has no such words.
          std::fprintf(stderr, "ember-bench-baseline: word longer than %zu bytes in %s\n",
                       kReadBufferBytes, path.c_str());
          ::close(fd);
          return false;
        }
        next_carry = end - start;
        std::memmove(buf, buf + start, next_carry);
        break;
      }
      Count(counts, std::string_view(buf + start, i - start));
    }
    carry = next_carry;
    if (eof) break;
  }
  ::close(fd);
  return true;
}

std::vector<std::string> ListInputs(const std::string& dir) {
  std::vector<std::string> files;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return files;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.' || e->d_name[0] == '_') continue;
    files.push_back(dir + "/" + e->d_name);
  }
  ::closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

bool WriteCounts(const std::string& path, const Counts& counts) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  std::string out;
  out.reserve(kOutputFlushBytes + 64);
  bool ok = true;
  auto flush = [&] {
    size_t done = 0;
    while (ok && done < out.size()) {
      const ssize_t w = ::write(fd, out.data() + done, out.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) ok = false;
      else done += static_cast<size_t>(w);
    }
    out.clear();
  };
  for (const auto& [word, count] : counts) {
    out += word;
    out += '\t';
    out += std::to_string(count);
    out += '\n';
    if (out.size() >= kOutputFlushBytes) flush();
  }
  flush();
  return ::close(fd) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s INPUT_DIR OUT_FILE\n", argv[0]);
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> files = ListInputs(argv[1]);
  if (files.empty()) {
    std::fprintf(stderr, "ember-bench-baseline: no input files in %s\n", argv[1]);
    return 1;
  }
  auto buf = std::make_unique_for_overwrite<char[]>(kReadBufferBytes);
  Counts counts;
  counts.reserve(kExpectedDistinctWords);
  uint64_t bytes = 0;
  for (const std::string& f : files) {
    if (!CountFile(f, buf.get(), counts, bytes)) return 1;
  }
  if (!WriteCounts(argv[2], counts)) {
    std::fprintf(stderr, "ember-bench-baseline: cannot write %s\n", argv[2]);
    return 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("baseline: %llu bytes, %zu distinct words in %.3f s (%.1f MB/s)\n",
              static_cast<unsigned long long>(bytes), counts.size(), secs,
              static_cast<double>(bytes) / (1 << 20) / secs);
  return 0;
}
