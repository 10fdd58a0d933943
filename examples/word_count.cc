// WordCount: counts each word of the input text.
//
//   ember-submit --master local-cluster[2,1] libwordcount.so INPUT OUTPUT_DIR
//
// The same program is also the library's named entry point "wordcount"
// (--class wordcount, or a SparkApplication's mainClass), as an example of
// one library holding several programs.
//
// A word is a maximal run of bytes other than space, \t, \n, \r, \f and \v;
// words are case-sensitive. The output is part files of "word<TAB>count".
#include <cstdio>
#include <string_view>

#include <ember/ember.h>

namespace {

constexpr bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int WordCount(ember::Context& ctx, const std::vector<std::string>& args) {
  if (args.size() != 2) {
    std::fprintf(stderr, "usage: WordCount INPUT OUTPUT_DIR\n");
    return 2;
  }
  ctx.textFile(args[0])
      .flatMap([](std::string_view line, auto& out) {
        size_t i = 0;
        const size_t n = line.size();
        while (i < n) {
          while (i < n && IsSpace(line[i])) ++i;
          const size_t start = i;
          while (i < n && !IsSpace(line[i])) ++i;
          if (i > start) out(line.substr(start, i - start));
        }
      })
      .map([](std::string word) { return std::pair<std::string, int64_t>(std::move(word), 1); })
      .reduceByKey([](int64_t a, int64_t b) { return a + b; })
      .saveAsTextFile(args[1]);
  std::printf("WordCount: wrote %s\n", args[1].c_str());
  return 0;
}

}  // namespace

EMBER_APPLICATION(ctx, args) { return WordCount(ctx, args); }

EMBER_ENTRY_POINT(wordcount, ctx, args) { return WordCount(ctx, args); }
