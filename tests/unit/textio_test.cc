// Text input: pattern expansion, split computation, and the central
// property of LineReader — over any set of contiguous splits of a file, every
// line is read exactly once, whatever the split sizes and buffer size.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/textio/line_reader.h"
#include "runtime/textio/splits.h"

namespace ember::textio {
namespace {

namespace fs = std::filesystem;

class TextIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "ember-textio-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, std::string_view content) {
    const fs::path p = fs::path(dir_) / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary).write(content.data(), static_cast<std::streamsize>(content.size()));
    return p.string();
  }

  std::string dir_;
};

// What a correct reader must produce: split at '\n', no phantom line after a
// final '\n', trailing '\r' stripped.
std::vector<std::string> ExpectedLines(std::string_view content) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < content.size()) {
    size_t nl = content.find('\n', start);
    if (nl == std::string_view::npos) nl = content.size();
    std::string line(content.substr(start, nl - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = nl + 1;
  }
  return lines;
}

// Reads the file as contiguous splits of `split_size` bytes.
std::vector<std::string> ReadAllSplits(const std::string& path, uint64_t size, uint64_t split_size,
                                       size_t buffer_bytes) {
  std::vector<std::string> lines;
  for (uint64_t off = 0; off < size; off += split_size) {
    const FileSplit split{path, off, std::min(split_size, size - off)};
    auto reader = LineReader::Open(split, buffer_bytes);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return lines;
    std::string_view line;
    while ((*reader)->Next(&line)) lines.emplace_back(line);
    EXPECT_TRUE((*reader)->status().ok()) << (*reader)->status().ToString();
  }
  return lines;
}

std::string RandomText(size_t lines, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out;
  for (size_t i = 0; i < lines; ++i) {
    const size_t len = rng() % 3 == 0 ? 0 : rng() % 40;
    for (size_t j = 0; j < len; ++j) out.push_back(static_cast<char>('a' + rng() % 26));
    if (rng() % 5 == 0) out.push_back('\r');
    out.push_back('\n');
  }
  return out;
}

TEST_F(TextIoTest, EveryLineReadExactlyOnceForEverySplitSize) {
  struct Case {
    std::string name;
    std::string content;
  };
  const std::vector<Case> cases = {
      {"simple", "alpha\nbeta\ngamma\n"},
      {"no trailing newline", "alpha\nbeta\ngamma"},
      {"crlf", "one\r\ntwo\r\n\r\nthree\r\n"},
      {"crlf without final newline", "one\r\ntwo\r"},
      {"empty lines", "\n\n\na\n\n\nb\n\n"},
      {"only newlines", "\n\n\n"},
      {"single char", "x"},
      {"single newline", "\n"},
      {"lone cr", "\r"},
      {"long lines", std::string(100, 'L') + "\nshort\n" + std::string(257, 'M') + "\n\n" +
                         std::string(64, 'N')},
      {"random", RandomText(60, 7)},
  };
  // Buffer sizes below, at and above typical line lengths force refills,
  // compaction and growth.
  const std::vector<size_t> buffer_sizes = {1, 2, 5, 16, 64, LineReader::kDefaultBufferBytes};
  for (const Case& c : cases) {
    const std::string path = Write(c.name, c.content);
    const std::vector<std::string> expected = ExpectedLines(c.content);
    const uint64_t size = c.content.size();
    for (size_t buffer : buffer_sizes) {
      for (uint64_t split = 1; split <= size; ++split) {
        ASSERT_EQ(ReadAllSplits(path, size, split, buffer), expected)
            << c.name << ", split size " << split << ", buffer " << buffer;
      }
    }
  }
}

TEST_F(TextIoTest, LargerFileWithSampledSplitSizes) {
  const std::string content = RandomText(20000, 99);
  const std::string path = Write("big.txt", content);
  const std::vector<std::string> expected = ExpectedLines(content);
  for (uint64_t split : {uint64_t{1000}, uint64_t{4093}, uint64_t{65536}, uint64_t{content.size() / 3},
                         uint64_t{content.size()}}) {
    for (size_t buffer : {size_t{100}, size_t{4096}, LineReader::kDefaultBufferBytes}) {
      EXPECT_EQ(ReadAllSplits(path, content.size(), split, buffer), expected)
          << "split " << split << ", buffer " << buffer;
    }
  }
}

TEST_F(TextIoTest, LineLongerThanDefaultBufferSpanningSplits) {
  const std::string huge(LineReader::kDefaultBufferBytes + 12345, 'h');
  const std::string content = "first\n" + huge + "\nlast\n";
  const std::string path = Write("huge.txt", content);
  const std::vector<std::string> expected = ExpectedLines(content);
  const uint64_t half = content.size() / 2;  // inside the huge line
  EXPECT_EQ(ReadAllSplits(path, content.size(), half + 1, LineReader::kDefaultBufferBytes), expected);
  EXPECT_EQ(ReadAllSplits(path, content.size(), 1 << 20, LineReader::kDefaultBufferBytes), expected);
}

TEST_F(TextIoTest, SplitStartingExactlyAtALineStartKeepsThatLine) {
  const std::string path = Write("f.txt", "ab\ncd\nef\n");
  auto reader = LineReader::Open(FileSplit{path, 3, 3});
  ASSERT_TRUE(reader.ok());
  std::string_view line;
  ASSERT_TRUE((*reader)->Next(&line));
  EXPECT_EQ(line, "cd");
  EXPECT_FALSE((*reader)->Next(&line));
  EXPECT_TRUE((*reader)->status().ok());
  EXPECT_GT((*reader)->bytes_read(), 0u);
}

TEST_F(TextIoTest, EmptySplitHasNoLines) {
  const std::string path = Write("f.txt", "ab\ncd\n");
  for (uint64_t off : {0, 1, 3, 6}) {
    auto reader = LineReader::Open(FileSplit{path, off, 0});
    ASSERT_TRUE(reader.ok());
    std::string_view line;
    EXPECT_FALSE((*reader)->Next(&line)) << "offset " << off;
    EXPECT_TRUE((*reader)->status().ok());
  }
}

TEST_F(TextIoTest, FileShorterThanSplitIsAnError) {
  const std::string path = Write("f.txt", "ab\ncd\n");
  for (const FileSplit& split : {FileSplit{path, 0, 100}, FileSplit{path, 4, 100}, FileSplit{path, 50, 10}}) {
    auto reader = LineReader::Open(split);
    ASSERT_TRUE(reader.ok());
    std::string_view line;
    while ((*reader)->Next(&line)) {
    }
    EXPECT_EQ((*reader)->status().code(), StatusCode::kDataLoss) << split.offset;
    EXPECT_NE((*reader)->status().message().find(path), std::string::npos);
    EXPECT_NE((*reader)->status().message().find("shrank"), std::string::npos);
  }
}

TEST_F(TextIoTest, OpenMissingFileIsNotFound) {
  auto reader = LineReader::Open(FileSplit{dir_ + "/nope.txt", 0, 10});
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kNotFound);
  EXPECT_NE(reader.status().message().find("nope.txt"), std::string::npos);
}

// ---- ExpandInputPaths ------------------------------------------------------

TEST_F(TextIoTest, ExpandInputPaths) {
  const std::string a = Write("data/b.txt", "1\n");
  const std::string b = Write("data/a.txt", "2\n");
  Write("data/.hidden", "x");
  Write("data/_SUCCESS", "");
  fs::create_directories(dir_ + "/data/subdir");
  Write("data/subdir/deep.txt", "3\n");
  const std::string c = Write("other/c.log", "4\n");
  fs::create_directories(dir_ + "/empty");
  Write("onlyhidden/.crc", "x");

  struct Case {
    std::string name;
    std::string pattern;
    std::vector<std::string> files;  // empty: expect an error
    StatusCode code = StatusCode::kOk;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"file", a, {a}, StatusCode::kOk, ""},
      {"directory sorted, hidden and subdirs skipped", dir_ + "/data", {b, a}, StatusCode::kOk, ""},
      {"directory with trailing slash", dir_ + "/data/", {dir_ + "/data/a.txt", dir_ + "/data/b.txt"}, StatusCode::kOk, ""},
      {"glob", dir_ + "/data/*.txt", {b, a}, StatusCode::kOk, ""},
      {"glob over directories", dir_ + "/o*", {c}, StatusCode::kOk, ""},
      {"comma list", a + "," + dir_ + "/other", {a, c}, StatusCode::kOk, ""},
      {"missing", dir_ + "/missing.txt", {}, StatusCode::kNotFound,
       "input path does not exist: " + dir_ + "/missing.txt"},
      {"glob without match", dir_ + "/*.csv", {}, StatusCode::kNotFound, "no files match " + dir_ + "/*.csv"},
      {"empty directory", dir_ + "/empty", {}, StatusCode::kNotFound,
       "input directory " + dir_ + "/empty has no files"},
      {"only hidden files", dir_ + "/onlyhidden", {}, StatusCode::kNotFound, "has no files"},
      {"missing in list", a + "," + dir_ + "/gone", {}, StatusCode::kNotFound, "does not exist"},
      {"empty pattern", ",", {}, StatusCode::kInvalidArgument, "empty input path"},
  };
  for (const Case& tc : cases) {
    auto files = ExpandInputPaths(tc.pattern);
    if (tc.code == StatusCode::kOk) {
      ASSERT_TRUE(files.ok()) << tc.name << ": " << files.status().ToString();
      EXPECT_EQ(*files, tc.files) << tc.name;
    } else {
      ASSERT_FALSE(files.ok()) << tc.name;
      EXPECT_EQ(files.status().code(), tc.code) << tc.name;
      EXPECT_NE(files.status().message().find(tc.message), std::string::npos)
          << tc.name << ": " << files.status().message();
    }
  }
}

// ---- ComputeSplits ---------------------------------------------------------

std::string SparseFile(const std::string& dir, const std::string& name, uint64_t size) {
  const std::string path = dir + "/" + name;
  std::ofstream(path).close();
  fs::resize_file(path, size);
  return path;
}

// Splits must tile each non-empty file exactly, in order.
void ExpectTiles(const std::vector<FileSplit>& splits, const std::vector<std::string>& files,
                 const std::vector<uint64_t>& sizes) {
  size_t i = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    uint64_t pos = 0;
    while (pos < sizes[f]) {
      ASSERT_LT(i, splits.size());
      EXPECT_EQ(splits[i].path, files[f]);
      EXPECT_EQ(splits[i].offset, pos);
      EXPECT_GT(splits[i].length, 0u);
      pos += splits[i].length;
      ++i;
    }
    EXPECT_EQ(pos, sizes[f]);
  }
  EXPECT_EQ(i, splits.size());
}

TEST_F(TextIoTest, ComputeSplits) {
  constexpr uint64_t kMiB = uint64_t{1} << 20;
  const std::string small = SparseFile(dir_, "small", 1000);
  const std::string empty = SparseFile(dir_, "empty", 0);
  const std::string big = SparseFile(dir_, "big", 10 * kMiB);
  const std::string huge = SparseFile(dir_, "huge", 130 * kMiB);
  struct Case {
    std::string name;
    std::vector<std::string> files;
    std::vector<uint64_t> sizes;
    uint32_t min_partitions;
    uint64_t max_split;
    size_t expected_splits;
  };
  const std::vector<Case> cases = {
      {"small file is one split", {small}, {1000}, 8, 64 * kMiB, 1},
      {"goal from min partitions", {big}, {10 * kMiB}, 4, 64 * kMiB, 4},
      {"1 MiB minimum", {big}, {10 * kMiB}, 100, 64 * kMiB, 10},
      {"capped by max split, last absorbs slop", {huge}, {130 * kMiB}, 1, 64 * kMiB, 2},
      {"empty files skipped", {empty, small, empty, big}, {0, 1000, 0, 10 * kMiB}, 2, 64 * kMiB, 3},
      {"zero min partitions treated as one", {big}, {10 * kMiB}, 0, 64 * kMiB, 1},
      {"tiny max split still 1 MiB", {big}, {10 * kMiB}, 1, 1000, 10},
  };
  for (const Case& c : cases) {
    auto splits = ComputeSplits(c.files, c.min_partitions, c.max_split);
    ASSERT_TRUE(splits.ok()) << c.name << ": " << splits.status().ToString();
    EXPECT_EQ(splits->size(), c.expected_splits) << c.name;
    ExpectTiles(*splits, c.files, c.sizes);
  }
}

TEST_F(TextIoTest, ComputeSplitsAllEmptyGivesOneEmptySplit) {
  const std::string e1 = SparseFile(dir_, "e1", 0);
  const std::string e2 = SparseFile(dir_, "e2", 0);
  auto splits = ComputeSplits({e1, e2}, 4);
  ASSERT_TRUE(splits.ok());
  ASSERT_EQ(splits->size(), 1u);
  EXPECT_EQ((*splits)[0], (FileSplit{e1, 0, 0}));
}

TEST_F(TextIoTest, ComputeSplitsErrors) {
  EXPECT_EQ(ComputeSplits({}, 1).status().code(), StatusCode::kInvalidArgument);
  auto missing = ComputeSplits({dir_ + "/gone"}, 1);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("gone"), std::string::npos);
}

TEST_F(TextIoTest, SplitEncodingRoundTripsAndRejectsGarbage) {
  for (const FileSplit& s : {FileSplit{"/a/b.txt", 0, 0}, FileSplit{"", 1, 2},
                             FileSplit{std::string(500, 'p'), UINT64_MAX - 5, 5}}) {
    auto back = DecodeSplit(EncodeSplit(s));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, s);
  }
  const std::string good = EncodeSplit(FileSplit{"/x", 3, 4});
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_EQ(DecodeSplit(good.substr(0, len)).status().code(), StatusCode::kDataLoss) << len;
  }
  EXPECT_EQ(DecodeSplit(good + "x").status().code(), StatusCode::kDataLoss);
  std::string bad_version = good;
  bad_version[0] = 9;
  EXPECT_NE(DecodeSplit(bad_version).status().message().find("version"), std::string::npos);
}

}  // namespace
}  // namespace ember::textio
