// ember-bench-gentext: writes a synthetic English-like text corpus for the
// WordCount benchmark.
//
//   ember-bench-gentext OUT_DIR SIZE_MB [VOCAB] [SEED]
//
// The corpus is kFiles files (part-NNNNN.txt) of about SIZE_MB MiB in total,
// so that even local[1] reads several files and larger ones are cut into
// splits. Word frequencies follow Zipf's law (rank r has weight 1/r^kZipfS),
// which is what natural text looks like and what makes a word count's hash
// table hot on a few keys and cold on a long tail. Frequent words are short,
// rare ones long, as in real text. Lines hold kMinWordsPerLine to
// kMaxWordsPerLine words separated by single spaces (an occasional tab, so
// both separators are exercised).
//
// The output is a pure function of (SIZE_MB, VOCAB, SEED): each file has its
// own RNG stream derived from the seed, so files can be generated in parallel
// and reruns produce the same bytes.
//
// Speed matters (512 MiB should take seconds): words are drawn with Walker's
// alias method (O(1) per word, one table lookup), lines are built in a large
// buffer and written with big write() calls.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

constexpr uint64_t kBytesPerMiB = uint64_t{1} << 20;
constexpr int kFiles = 8;
constexpr uint32_t kDefaultVocab = 100000;
constexpr uint64_t kDefaultSeed = 42;
constexpr double kZipfS = 1.0;
constexpr int kMinWordsPerLine = 10;
constexpr int kMaxWordsPerLine = 15;
// One separator in kTabEvery is a tab instead of a space.
constexpr uint32_t kTabEvery = 64;
// Word lengths: kMinWordLen..kMaxWordLen letters; the word of rank r has
// about kLenAtRankOne + kLenPerLogRank * ln(r + 1) +- kLenNoise letters, which
// makes tokens average about 4.7 letters (as English text does) and
// vocabulary entries about 7.
constexpr int kMinWordLen = 2;
constexpr int kMaxWordLen = 14;
constexpr double kLenAtRankOne = 2.0;
constexpr double kLenPerLogRank = 0.48;
constexpr double kLenNoise = 1.5;
constexpr int kAttemptsPerLength = 8;
// Each vocabulary word sits in a fixed slot so that emitting one is a
// fixed-size copy; the slot's last byte holds the length.
constexpr size_t kSlotBytes = 16;
static_assert(kMaxWordLen < static_cast<int>(kSlotBytes));
// Large buffered writes keep the generator I/O-cheap.
constexpr size_t kWriteBufferBytes = size_t{8} << 20;

// splitmix64: seeds the per-file streams from (seed, file) so that nearby
// seeds give unrelated streams.
uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// xorshift64*: fast and good enough to pick words.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t s = seed;
    state_ = SplitMix64(s);
    if (state_ == 0) state_ = 1;  // xorshift's one fixed point
  }
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }
  // Uniform in [0, n) by multiply-shift (Lemire), without a division.
  uint32_t Below(uint32_t n) {
    return static_cast<uint32_t>(((Next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// The length of the word of a given rank: grows with log(rank), plus noise,
// so that frequent words are short and rare ones long, as in English.
int LengthForRank(uint32_t rank, Rng& rng) {
  const double mean = kLenAtRankOne + kLenPerLogRank * std::log(rank + 1.0);
  const double noisy = mean + kLenNoise * (2 * rng.Unit() - 1);
  return std::clamp(static_cast<int>(std::lround(noisy)), kMinWordLen, kMaxWordLen);
}

// The vocabulary, most frequent word first, all distinct.
std::vector<std::string> MakeVocabulary(uint32_t vocab, uint64_t seed) {
  Rng rng(seed ^ 0x766f636162756c61ull);
  std::unordered_set<std::string> seen;
  seen.reserve(vocab * 2);
  std::vector<std::string> out;
  out.reserve(vocab);
  for (uint32_t rank = 0; rank < vocab; ++rank) {
    int len = LengthForRank(rank, rng);
    for (int attempt = 1;; ++attempt) {
      std::string w(static_cast<size_t>(len), 'a');
      for (char& c : w) c = static_cast<char>('a' + rng.Below(26));
      if (seen.insert(w).second) {
        out.push_back(std::move(w));
        break;
      }
      // Short lengths run out of letter combinations: go one longer.
      if (attempt % kAttemptsPerLength == 0 && len < kMaxWordLen) ++len;
    }
  }
  return out;
}

// Walker/Vose alias table over Zipf weights: a draw is one random number,
// whose high half picks a column and low half decides between the column's
// word and its alias.
class AliasTable {
 public:
  explicit AliasTable(uint32_t n) : columns_(n) {
    std::vector<double> scaled(n);
    double total = 0;
    for (uint32_t r = 0; r < n; ++r) total += 1.0 / std::pow(r + 1.0, kZipfS);
    for (uint32_t r = 0; r < n; ++r) scaled[r] = n / std::pow(r + 1.0, kZipfS) / total;
    std::vector<uint32_t> small;
    std::vector<uint32_t> large;
    for (uint32_t r = 0; r < n; ++r) (scaled[r] < 1.0 ? small : large).push_back(r);
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back();
      small.pop_back();
      const uint32_t l = large.back();
      columns_[s] = {ToThreshold(scaled[s]), l};
      scaled[l] = (scaled[l] + scaled[s]) - 1.0;
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // What is left has probability 1 up to rounding: always its own word.
    for (uint32_t r : large) columns_[r] = {kAlways, r};
    for (uint32_t r : small) columns_[r] = {kAlways, r};
  }

  uint32_t Draw(Rng& rng) const {
    const uint64_t x = rng.Next();
    const auto i = static_cast<uint32_t>(((x >> 32) * columns_.size()) >> 32);
    const Column& c = columns_[i];
    return static_cast<uint32_t>(x) < c.threshold ? i : c.alias;
  }

 private:
  static constexpr uint64_t kAlways = uint64_t{1} << 32;
  static uint64_t ToThreshold(double p) {
    return static_cast<uint64_t>(std::min(1.0, p) * static_cast<double>(kAlways));
  }
  struct Column {
    uint64_t threshold;  // keep column i when the low 32 random bits are below
    uint32_t alias;
  };
  std::vector<Column> columns_;
};

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Writes one file of at least `bytes` bytes (it ends at the first line end
// past that). `slots` holds the vocabulary in kSlotBytes slots. Returns an
// error message, or "" on success.
std::string WriteFile(const std::string& path, uint64_t bytes, uint64_t seed,
                      const std::vector<char>& slots, const AliasTable& table) {
  Rng rng(seed);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot create " + path + ": " + std::strerror(errno);
  // Room for one more line past the flush threshold (each word copies a
  // whole slot), so a line never needs a bounds check per word.
  const size_t max_line = static_cast<size_t>(kMaxWordsPerLine) * (kSlotBytes + 1);
  std::vector<char> buf(kWriteBufferBytes + max_line);
  char* const base = buf.data();
  size_t used = 0;
  uint64_t written = 0;
  std::string err;
  while (written + used < bytes) {
    const int n = kMinWordsPerLine +
                  static_cast<int>(rng.Below(kMaxWordsPerLine - kMinWordsPerLine + 1));
    for (int i = 0; i < n; ++i) {
      const char* slot = slots.data() + size_t{table.Draw(rng)} * kSlotBytes;
      std::memcpy(base + used, slot, kSlotBytes);
      used += static_cast<unsigned char>(slot[kSlotBytes - 1]);
      base[used++] = i + 1 == n ? '\n' : (rng.Below(kTabEvery) == 0 ? '\t' : ' ');
    }
    if (used >= kWriteBufferBytes) {
      if (!WriteAll(fd, base, used)) {
        err = "writing " + path + ": " + std::strerror(errno);
        used = 0;
        break;
      }
      written += used;
      used = 0;
    }
  }
  if (err.empty() && !WriteAll(fd, base, used)) {
    err = "writing " + path + ": " + std::strerror(errno);
  }
  if (::close(fd) != 0 && err.empty()) err = "closing " + path + ": " + std::strerror(errno);
  return err;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: %s OUT_DIR SIZE_MB [VOCAB=%u] [SEED=%llu]\n", argv[0],
                 kDefaultVocab, static_cast<unsigned long long>(kDefaultSeed));
    return 2;
  }
  const std::string out_dir = argv[1];
  const uint64_t size_mb = std::strtoull(argv[2], nullptr, 10);
  const auto vocab = argc > 3 ? static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10))
                              : kDefaultVocab;
  const uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : kDefaultSeed;
  if (size_mb == 0 || vocab == 0) {
    std::fprintf(stderr, "SIZE_MB and VOCAB must be positive\n");
    return 2;
  }
  if (::mkdir(out_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "cannot create %s: %s\n", out_dir.c_str(), std::strerror(errno));
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> words = MakeVocabulary(vocab, seed);
  std::vector<char> slots(words.size() * kSlotBytes, 0);
  for (size_t i = 0; i < words.size(); ++i) {
    std::memcpy(slots.data() + i * kSlotBytes, words[i].data(), words[i].size());
    slots[i * kSlotBytes + kSlotBytes - 1] = static_cast<char>(words[i].size());
  }
  const AliasTable table(vocab);
  const uint64_t per_file = size_mb * kBytesPerMiB / kFiles;

  // Files are independent streams: spread them over the cores.
  std::vector<std::string> errors(kFiles);
  const unsigned workers = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(),
                                                           static_cast<unsigned>(kFiles)));
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      for (int f = static_cast<int>(w); f < kFiles; f += static_cast<int>(workers)) {
        char name[32];
        std::snprintf(name, sizeof(name), "/part-%05d.txt", f);
        uint64_t s = seed * 0x100000001b3ull + static_cast<uint64_t>(f);
        errors[static_cast<size_t>(f)] =
            WriteFile(out_dir + name, per_file, SplitMix64(s), slots, table);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& e : errors) {
    if (!e.empty()) {
      std::fprintf(stderr, "ember-bench-gentext: %s\n", e.c_str());
      return 1;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "ember-bench-gentext: %llu MiB, %u words, seed %llu in %.2f s -> %s\n",
               static_cast<unsigned long long>(size_mb), vocab,
               static_cast<unsigned long long>(seed), secs, out_dir.c_str());
  return 0;
}
