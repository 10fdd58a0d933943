// An application whose user function throws on an executor for one record:
// the job must fail, and the driver must report the exception's message.
#include <cstdio>
#include <stdexcept>

#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  (void)args;
  const uint64_t n = ctx.range(0, 1000, 1, 4)
                         .map([](int64_t i) {
                           if (i == 42) throw std::runtime_error("boom: bad record 42");
                           return i;
                         })
                         .count();
  std::printf("counted %llu records\n", static_cast<unsigned long long>(n));
  return 0;
}
