// Must not compile: [this] captures a pointer to the driver's object.
#include <ember/ember.h>

namespace {
struct Job {
  int64_t factor = 3;
  int64_t Run(ember::Context& ctx) {
    return static_cast<int64_t>(ctx.range(0, 10).map([this](int64_t x) { return x * factor; }).count());
  }
};
}  // namespace

EMBER_APPLICATION(ctx, args) {
  Job job;
  return static_cast<int>(job.Run(ctx) + static_cast<int64_t>(args.size()));
}
