// Must not compile: state that is a view would point into the driver.
#include <string_view>

#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  const std::string prefix = args.empty() ? "p" : args[0];
  return static_cast<int>(ctx.range(0, 10)
                              .map(ember::with(std::string_view(prefix), [](std::string_view p, int64_t x) {
                                return std::string(p) + std::to_string(x);
                              }))
                              .count());
}
