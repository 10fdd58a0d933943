// An application whose user function throws on an executor for one record:
// the job must fail, and the driver must report the exception's message.
// With the argument "abort" the function kills its process instead, as a
// crashing native library would.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  const bool abort = !args.empty() && args[0] == "abort";
  const uint64_t n = ctx.range(0, 1000, 1, 4)
                         .map(ember::with(abort,
                                          [](bool abort, int64_t i) {
                                            if (i == 42 && abort) std::abort();
                                            if (i == 42)
                                              throw std::runtime_error("boom: bad record 42");
                                            return i;
                                          }))
                         .count();
  std::printf("counted %llu records\n", static_cast<unsigned long long>(n));
  return 0;
}
