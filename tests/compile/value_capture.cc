// Must not compile: even a captured number travels as opaque closure bytes
// that nothing checks; state goes through ember::with, encoded like a record.
#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  const int64_t n = static_cast<int64_t>(args.size());
  return static_cast<int>(ctx.range(0, 10).map([n](int64_t x) { return x * n; }).count());
}
