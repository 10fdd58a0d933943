// Must not compile: RDD records must be encodable.
#include <ember/ember.h>

struct Opaque {
  int value;
};

EMBER_APPLICATION(ctx, args) {
  (void)args;
  return static_cast<int>(ctx.range(0, 10).map([](int64_t x) { return Opaque{int(x)}; }).count());
}
