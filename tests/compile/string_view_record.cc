// Must not compile: records that are views would point into buffers the
// engine reuses.
#include <string_view>

#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  return static_cast<int>(
      ctx.textFile(args.at(0)).map([](const std::string& line) { return std::string_view(line); }).count());
}
