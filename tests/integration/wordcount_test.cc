// WordCount (examples/word_count.cc) on a generated corpus, checked word by
// word against counts computed here.
//
// The corpus is built to hit the edges of text input and of the word
// definition: several files, a Zipf-like mix of 20,000 words (a few very
// frequent, most rare), every whitespace byte the definition names as a
// separator, empty and blank lines, a file without a trailing newline, a line
// longer than 1 MiB (longer than any read buffer), words that differ only in
// case, and non-ASCII bytes.
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine_test_util.h"

namespace ember::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kFiles = 4;
constexpr size_t kVocabulary = 20'000;
constexpr size_t kBytesPerFile = 1'500'000;
constexpr size_t kLongLineBytes = (1u << 20) + 200'000;

// The same definition as the application's, written independently: a word
// is a maximal run of bytes other than ' ', \t, \n, \r, \f and \v.
bool IsSeparator(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void CountWords(const std::string& text, std::map<std::string, int64_t>& counts) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSeparator(text[i])) ++i;
    const size_t start = i;
    while (i < text.size() && !IsSeparator(text[i])) ++i;
    if (i > start) ++counts[text.substr(start, i - start)];
  }
}

std::vector<std::string> MakeVocabulary(std::mt19937& gen) {
  static constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyz0123456789'-.,";
  std::uniform_int_distribution<size_t> len(1, 12);
  std::uniform_int_distribution<size_t> letter(0, sizeof(kLetters) - 2);
  std::uniform_int_distribution<int> percent(0, 99);
  std::set<std::string> seen;
  std::vector<std::string> words;
  while (words.size() < kVocabulary) {
    std::string w;
    if (!words.empty() && percent(gen) < 10) {
      // Same letters, different case: a different word.
      w = words[words.size() - 1];
      for (char& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (w == words.back()) continue;
    } else {
      const size_t n = len(gen);
      for (size_t i = 0; i < n; ++i) w.push_back(kLetters[letter(gen)]);
      if (percent(gen) < 3) w += "\xc3\xa9t\xc3\xa9";  // UTF-8 bytes inside a word
    }
    if (seen.insert(w).second) words.push_back(std::move(w));
  }
  return words;
}

class Corpus {
 public:
  Corpus() : gen_(424242), vocabulary_(MakeVocabulary(gen_)), zipf_(ZipfWeights()) {
    for (int f = 0; f < kFiles; ++f) {
      std::string text = Text(kBytesPerFile, /*newlines=*/true);
      if (f == 1) {
        // One line longer than 1 MiB, in the middle of the file.
        text += Text(kLongLineBytes, /*newlines=*/false) + "\n" + Text(100'000, true);
      }
      if (f == kFiles - 1) {
        while (!text.empty() && IsSeparator(text.back())) text.pop_back();
      } else {
        text += "\n";
      }
      files_.push_back(std::move(text));
    }
  }

  const std::vector<std::string>& files() const { return files_; }
  static std::string FileName(int f) { return "corpus-" + std::to_string(f) + ".txt"; }

 private:
  std::vector<double> ZipfWeights() const {
    std::vector<double> w(vocabulary_.size());
    for (size_t r = 0; r < w.size(); ++r) w[r] = 1.0 / static_cast<double>(r + 1);
    return w;
  }

  std::string Text(size_t bytes, bool newlines) {
    static constexpr char kSeparators[] = {' ', '\t', '\r', '\f', '\v'};
    std::uniform_int_distribution<size_t> sep(0, sizeof(kSeparators) - 1);
    std::uniform_int_distribution<int> percent(0, 99);
    std::discrete_distribution<size_t> word(zipf_.begin(), zipf_.end());
    std::string text;
    while (text.size() < bytes) {
      text += vocabulary_[word(gen_)];
      const int p = percent(gen_);
      if (newlines && p < 8) {
        text += "\n";
        if (p < 1) text += "\n\n";       // empty lines
        if (p == 2) text += " \t \r\n";  // a blank line of separators only
        if (p == 3) text += "\r\n";      // CRLF: \r is a separator
      } else {
        text.push_back(kSeparators[sep(gen_)]);
        if (p > 95) text.push_back(kSeparators[sep(gen_)]);
      }
    }
    return text;
  }

  std::mt19937 gen_;
  std::vector<std::string> vocabulary_;
  std::vector<double> zipf_;
  std::vector<std::string> files_;
};

class WordCountTest : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {
 protected:
  static void SetUpTestSuite() {
    corpus_ = new Corpus();
    dir_ = new TempDir("ember-wordcount");
    fs::create_directories(*dir_ / "input");
    for (int f = 0; f < kFiles; ++f) {
      WriteFileOrDie(*dir_ / ("input/" + Corpus::FileName(f)), corpus_->files()[f]);
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete corpus_;
  }

  static Corpus* corpus_;
  static TempDir* dir_;
};

Corpus* WordCountTest::corpus_ = nullptr;
TempDir* WordCountTest::dir_ = nullptr;

TEST_P(WordCountTest, CountsEveryWordExactly) {
  const auto [master, input] = GetParam();
  const std::string input_kind = input;
  std::map<std::string, int64_t> expected;
  std::string input_path;
  if (input_kind == "directory") {
    input_path = *dir_ / "input";
    for (const auto& text : corpus_->files()) CountWords(text, expected);
  } else {
    // Only files 0 and 2 match.
    input_path = *dir_ / "input/corpus-[02].txt";
    CountWords(corpus_->files()[0], expected);
    CountWords(corpus_->files()[2], expected);
  }
  ASSERT_GT(expected.size(), kVocabulary / 2) << "the corpus generator is broken";
  size_t corpus_bytes = 0;
  for (const auto& text : corpus_->files()) corpus_bytes += text.size();
  ASSERT_GT(corpus_bytes, kFiles * kBytesPerFile + kLongLineBytes);

  std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : test_name) c = c == '/' ? '_' : c;
  const std::string out_dir = *dir_ / ("out-" + test_name);
  ProcessResult r = Submit(master, EMBER_WORDCOUNT_APP, {input_path, out_dir});
  ASSERT_TRUE(r.Exited(0)) << r.Describe();
  EXPECT_TRUE(fs::is_regular_file(out_dir + "/_SUCCESS"));

  std::map<std::string, int64_t> actual;
  size_t part_files = 0;
  for (const auto& entry : fs::directory_iterator(out_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("part-", 0) != 0) {
      EXPECT_TRUE(name == "_SUCCESS") << "unexpected file in the output: " << name;
      continue;
    }
    ++part_files;
    const std::string text = ReadFileOrEmpty(entry.path().string());
    ASSERT_TRUE(text.empty() || text.back() == '\n') << name << " does not end with a newline";
    for (const std::string& line : SplitLines(text)) {
      const size_t tab = line.rfind('\t');
      ASSERT_NE(tab, std::string::npos) << name << ": no tab in '" << line << "'";
      const std::string word = line.substr(0, tab);
      const int64_t count = std::stoll(line.substr(tab + 1));
      ASSERT_TRUE(actual.emplace(word, count).second)
          << "word '" << word << "' appears twice in the output (again in " << name << ")";
    }
  }
  EXPECT_GT(part_files, 0u);
  EXPECT_EQ(actual.size(), expected.size());
  // On a mismatch, name the first few differences rather than dumping maps.
  std::vector<std::string> diffs;
  for (const auto& [w, n] : expected) {
    auto it = actual.find(w);
    if (it == actual.end() || it->second != n) {
      diffs.push_back("'" + w + "': expected " + std::to_string(n) + ", got " +
                      (it == actual.end() ? std::string("nothing") : std::to_string(it->second)));
    }
  }
  for (const auto& [w, n] : actual) {
    if (expected.count(w) == 0) diffs.push_back("unexpected word '" + w + "'");
  }
  if (diffs.size() > 10) diffs.resize(10);
  EXPECT_TRUE(diffs.empty()) << ::testing::PrintToString(diffs);
}

INSTANTIATE_TEST_SUITE_P(Inputs, WordCountTest,
                         ::testing::Values(std::make_tuple("local-cluster[2,1]", "directory"),
                                           std::make_tuple("local[2]", "directory"),
                                           std::make_tuple("local-cluster[2,1]", "glob")),
                         [](const auto& info) {
                           const std::string master = std::get<0>(info.param);
                           return std::string(master.find("cluster") != std::string::npos
                                                  ? "LocalCluster"
                                                  : "Local") +
                                  "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace ember::testing
