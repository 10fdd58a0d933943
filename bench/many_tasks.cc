// The scheduler benchmark's application: count() over ARG partitions of one
// record each, so the job is nothing but task overhead. Prints the job's
// wall time as "tasks N seconds S".
#include <chrono>
#include <cstdio>
#include <string>

#include <ember/ember.h>

EMBER_APPLICATION(ctx, args) {
  const int64_t tasks = args.empty() ? 1000 : std::stoll(args[0]);
  // A small job first, so executor start-up and library loading are done.
  (void)ctx.range(0, 4, 1, 4).count();
  const auto start = std::chrono::steady_clock::now();
  const uint64_t n = ctx.range(0, tasks, 1, static_cast<uint32_t>(tasks)).count();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (static_cast<int64_t>(n) != tasks) {
    std::fprintf(stderr, "counted %llu records, expected %lld\n", static_cast<unsigned long long>(n),
                 static_cast<long long>(tasks));
    return 1;
  }
  std::printf("tasks %lld seconds %.3f\n", static_cast<long long>(tasks), s);
  return 0;
}
