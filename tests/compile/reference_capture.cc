// Must not compile: the lambda captures a local by reference, which on an
// executor would point into the driver's stack.
#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  int64_t offset = static_cast<int64_t>(args.size());
  return static_cast<int>(ctx.range(0, 10).map([&offset](int64_t x) { return x + offset; }).count());
}
