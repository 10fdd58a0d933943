// Must not compile: a pointer record names memory of one process only.
#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  return static_cast<int>(ctx.range(0, 10).map([](int64_t) { return static_cast<const char*>("x"); }).count() +
                          args.size());
}
