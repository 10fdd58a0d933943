// Must not compile: the function given to ember::with captures too.
#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  const int64_t extra = static_cast<int64_t>(args.size());
  return static_cast<int>(
      ctx.range(0, 10)
          .map(ember::with(int64_t{2}, [&extra](int64_t k, int64_t x) { return x * k + extra; }))
          .count());
}
