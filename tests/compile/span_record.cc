// Must not compile: a span record points into a buffer of one process that
// the engine reuses.
#include <span>
#include <vector>

#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  return static_cast<int>(
      ctx.range(0, 10).map([](int64_t) { return std::span<const int64_t>(); }).count() +
      args.size());
}
