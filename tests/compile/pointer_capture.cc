// Must not compile: an init-capture of a pointer is as meaningless on an
// executor as a reference.
#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  const std::string name = args.empty() ? "x" : args[0];
  return static_cast<int>(
      ctx.range(0, 10).map([p = &name](int64_t x) { return x + static_cast<int64_t>(p->size()); }).count());
}
