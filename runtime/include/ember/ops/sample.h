// sample: a random subset of the records, each partition drawing from its
// own generator, seeded by the user's seed and the partition so that a
// retried task picks the same records from the same input.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <cstdint>
#include <random>
#include <tuple>

#include "ember/function.h"
#include "ember/record.h"
#include "ember/task.h"

namespace ember::internal {

// withReplacement, fraction, seed.
using SampleCapture = std::tuple<bool, double, uint64_t>;

template <typename T>
struct SampleOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<T, T>>::value;
    auto spec = DecodeFromString<SampleCapture>(node.capture);
    if (!spec.ok()) Fail(spec.status().WithContext("sample: bad parameters"));
    const auto [with_replacement, fraction, seed] = *spec;
    class Sampler final : public Consumer<T> {
     public:
      Sampler(Consumer<T>& down, bool replace, double fraction, uint64_t seed)
          : down_(down), replace_(replace), fraction_(fraction), rng_(seed) {}
      void Push(T& v) override {
        if (!replace_) {
          if (uniform_(rng_) < fraction_) down_.Push(v);
          return;
        }
        // With replacement: each record is drawn a Poisson number of times.
        for (int n = std::poisson_distribution<int>(fraction_)(rng_); n > 0; --n) {
          T copy = v;
          down_.Push(copy);
        }
      }

     private:
      Consumer<T>& down_;
      bool replace_;
      double fraction_;
      std::mt19937_64 rng_;
      std::uniform_real_distribution<double> uniform_{0.0, 1.0};
    } sampler(As<T>(out), with_replacement, fraction,
              seed ^ ((uint64_t{partition} + 1) * 0x9E3779B97F4A7C15ULL));
    tc.RunParent(node, 0, partition, sampler);
  }
};

}  // namespace ember::internal
