// Must not compile: a function pointer names code in the driver only.
#include <ember/ember.h>

static int64_t Twice(int64_t x) { return 2 * x; }

EMBER_APPLICATION(ctx, args) {
  (void)args;
  return static_cast<int>(ctx.range(0, 10).map(&Twice).count());
}
