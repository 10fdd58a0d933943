// Must not compile: a string_view key of groupByKey dangles once the shuffle
// segment it points into is reused.
#include <string_view>

#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  return static_cast<int>(ctx.textFile(args.at(0))
                              .map([](const std::string& line) {
                                return std::pair<std::string_view, int64_t>(line, 1);
                              })
                              .groupByKey()
                              .count());
}
