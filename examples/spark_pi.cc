// SparkPi: estimates pi by throwing random darts at the unit square.
//
//   ember-submit --master local[2] libsparkpi.so [slices]
#include <cstdio>
#include <string>

#include <ember/ember.h>

namespace {
constexpr int64_t kPointsPerSlice = 100000;
// 2^-53: turns the top 53 bits of a 64-bit hash into a double in [0, 1).
constexpr double kUnitScale = 1.0 / 9007199254740992.0;
}  // namespace

EMBER_APPLICATION(ctx, args) {
  int64_t slices = 2;
  if (!args.empty()) {
    try {
      slices = std::stoll(args[0]);
    } catch (const std::exception&) {
      slices = 0;
    }
    if (slices <= 0) {
      std::fprintf(stderr, "SparkPi: slices must be a positive integer, got '%s'\n",
                   args[0].c_str());
      return 2;
    }
  }
  const int64_t n = kPointsPerSlice * slices;
  // Each point's coordinates come from hashing its index, so the estimate is
  // the same however the points are partitioned.
  const int64_t inside =
      ctx.range(0, n, 1, static_cast<uint32_t>(slices))
          .map([](int64_t i) -> int64_t {
            const uint64_t hx = ember::StableHash(std::pair<int64_t, int>(i, 0));
            const uint64_t hy = ember::StableHash(std::pair<int64_t, int>(i, 1));
            const double x = static_cast<double>(hx >> 11) * kUnitScale * 2 - 1;
            const double y = static_cast<double>(hy >> 11) * kUnitScale * 2 - 1;
            return x * x + y * y <= 1 ? 1 : 0;
          })
          .reduce([](int64_t a, int64_t b) { return a + b; });
  std::printf("Pi is roughly %.5f\n", 4.0 * static_cast<double>(inside) / static_cast<double>(n));
  return 0;
}
