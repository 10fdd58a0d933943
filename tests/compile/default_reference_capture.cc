// Must not compile: [&] captures what it uses by reference.
#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  const int64_t limit = static_cast<int64_t>(args.size());
  return static_cast<int>(ctx.range(0, 10).filter([&](int64_t x) { return x < limit; }).count());
}
