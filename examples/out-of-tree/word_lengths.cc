// WordLengths: how many words of each length a text has, printed shortest
// first. An application built outside Ember's tree, against an installed
// Ember (see README.md here).
//
//   ember-submit --master 'local[2]' libwordlengths.so INPUT
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <utility>

#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  if (args.size() != 1) {
    std::fprintf(stderr, "usage: WordLengths INPUT\n");
    return 2;
  }
  auto counts = ctx.textFile(args[0])
                    .flatMap<std::pair<int64_t, int64_t>>([](std::string_view line, auto& out) {
                      size_t i = 0;
                      while (i < line.size()) {
                        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
                        const size_t start = i;
                        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
                        if (i > start) out(std::pair<int64_t, int64_t>(int64_t(i - start), 1));
                      }
                    })
                    .reduceByKey([](int64_t a, int64_t b) { return a + b; })
                    .collect();
  std::sort(counts.begin(), counts.end());
  for (const auto& [length, n] : counts) {
    std::printf("%lld\t%lld\n", static_cast<long long>(length), static_cast<long long>(n));
  }
  return 0;
}
