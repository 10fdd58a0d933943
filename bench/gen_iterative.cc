// ember-bench-geniter: inputs for the PageRank and KMeans benchmarks
// (bench/iterative.sh), at the sizes Thrill's papers use.
//
//   ember-bench-geniter graph PAGES EDGES SEED OUT_DIR
//       EDGES lines "from to" over PAGES pages: every page has EDGES/PAGES
//       out-links (the first EDGES%PAGES one more), to uniformly random pages.
//   ember-bench-geniter points N K SEED OUT_DIR
//       N lines "x y": 2-D points around K centres, normally scattered.
//
// Output is kFiles part files, a pure function of the arguments.
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int kFiles = 8;

int Usage() {
  std::fprintf(stderr,
               "usage: ember-bench-geniter graph PAGES EDGES SEED OUT_DIR\n"
               "       ember-bench-geniter points N K SEED OUT_DIR\n");
  return 2;
}

bool ParseCount(const char* text, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v == 0) return false;
  *out = v;
  return true;
}

// Buffered writes of one part file; exits with a message on an I/O error.
class Part {
 public:
  Part(const std::string& dir, int index) : path_(dir + "/part-" + std::to_string(index)) {
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr) Die("cannot create");
    buffer_.reserve(kFlush + 64);
  }
  ~Part() {
    Flush();
    if (std::fclose(file_) != 0) Die("cannot close");
  }
  std::string& buffer() { return buffer_; }
  void MaybeFlush() {
    if (buffer_.size() >= kFlush) Flush();
  }

 private:
  static constexpr size_t kFlush = 1 << 20;
  void Flush() {
    if (!buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      Die("cannot write");
    }
    buffer_.clear();
  }
  [[noreturn]] void Die(const char* what) {
    std::fprintf(stderr, "ember-bench-geniter: %s %s: %s\n", what, path_.c_str(),
                 std::strerror(errno));
    std::exit(1);
  }
  std::string path_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
};

void Graph(uint64_t pages, uint64_t edges, uint64_t seed, const std::string& dir) {
  for (int f = 0; f < kFiles; ++f) {
    Part part(dir, f);
    std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(f));
    std::uniform_int_distribution<uint64_t> target(0, pages - 1);
    char line[64];
    for (uint64_t page = pages * f / kFiles; page < pages * (f + 1) / kFiles; ++page) {
      const uint64_t links = edges / pages + (page < edges % pages ? 1 : 0);
      for (uint64_t i = 0; i < links; ++i) {
        const int n =
            std::snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 "\n", page, target(rng));
        part.buffer().append(line, static_cast<size_t>(n));
      }
      part.MaybeFlush();
    }
  }
}

void Points(uint64_t n, uint64_t k, uint64_t seed, const std::string& dir) {
  std::mt19937_64 centres_rng(seed);
  std::uniform_real_distribution<double> where(-100.0, 100.0);
  std::vector<std::pair<double, double>> centres(k);
  for (auto& c : centres) c = {where(centres_rng), where(centres_rng)};
  for (int f = 0; f < kFiles; ++f) {
    Part part(dir, f);
    std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(f) + 1);
    std::uniform_int_distribution<uint64_t> pick(0, k - 1);
    std::normal_distribution<double> scatter(0.0, 5.0);
    char line[64];
    for (uint64_t i = n * f / kFiles; i < n * (f + 1) / kFiles; ++i) {
      const auto& c = centres[pick(rng)];
      const int len = std::snprintf(line, sizeof(line), "%.4f %.4f\n", c.first + scatter(rng),
                                    c.second + scatter(rng));
      part.buffer().append(line, static_cast<size_t>(len));
      part.MaybeFlush();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) return Usage();
  const std::string mode = argv[1];
  uint64_t a = 0, b = 0, seed = 0;
  if (!ParseCount(argv[2], &a) || !ParseCount(argv[3], &b) || !ParseCount(argv[4], &seed)) {
    std::fprintf(stderr, "ember-bench-geniter: counts and SEED must be positive integers\n");
    return 2;
  }
  const std::string dir = argv[5];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "ember-bench-geniter: cannot create %s: %s\n", dir.c_str(),
                 ec.message().c_str());
    return 1;
  }
  if (mode == "graph") {
    Graph(a, b, seed, dir);
  } else if (mode == "points") {
    Points(a, b, seed, dir);
  } else {
    return Usage();
  }
  return 0;
}
