// Must not compile: the closure captures a std::string, which executors
// cannot rebuild from bytes; the message points to broadcast variables.
#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  const std::string prefix = args.at(0);
  return static_cast<int>(
      ctx.range(0, 10).map([prefix](int64_t x) { return prefix + std::to_string(x); }).count());
}
