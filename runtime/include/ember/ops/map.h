// The narrow, record-at-a-time transformations (map, flatMap, filter,
// mapValues, keyBy), pipelined through one invoker, PipeOp.
//
// Thread-safety: each invocation belongs to one task thread.
#pragma once

#include <type_traits>
#include <utility>

#include "ember/function.h"
#include "ember/task.h"

namespace ember::internal {

template <typename U>
class Emitter {
 public:
  explicit Emitter(Consumer<U>& down) : down_(down) {}
  template <typename X>
  void operator()(X&& x) {
    // Checked here, the first place the emitted type is known, so that this
    // line is the first thing the compiler says.
    static_assert(std::is_constructible_v<U, X&&>,
                  "Ember: flatMap's out(value) emits a type its output type cannot be made "
                  "from; the output type is std::string unless named: write flatMap<T>(...) "
                  "with T the type the function emits");
    if constexpr (std::is_constructible_v<U, X&&>) {
      U value(std::forward<X>(x));
      down_.Push(value);
    }
  }

 private:
  Consumer<U>& down_;
};

// ----------------------------------------------------------- narrow steps --

template <typename In, typename Out, typename F>
struct MapStep {
  using Fn = F;
  F f;
  void Apply(In& v, Consumer<Out>& down) {
    Out out = f(std::move(v));
    down.Push(out);
  }
};

template <typename In, typename Out, typename F, bool kEmitter>
struct FlatMapStep {
  using Fn = F;
  F f;
  void Apply(In& v, Consumer<Out>& down) {
    if constexpr (kEmitter) {
      Emitter<Out> emit(down);
      f(std::move(v), emit);
    } else {
      for (auto&& x : f(std::move(v))) {
        Out out(std::move(x));
        down.Push(out);
      }
    }
  }
};

template <typename In, typename F>
struct FilterStep {
  using Fn = F;
  F f;
  void Apply(In& v, Consumer<In>& down) {
    if (f(static_cast<const In&>(v))) down.Push(v);
  }
};

template <typename K, typename V, typename W, typename F>
struct MapValuesStep {
  using Fn = F;
  F f;
  void Apply(std::pair<K, V>& v, Consumer<std::pair<K, W>>& down) {
    std::pair<K, W> out(std::move(v.first), f(std::move(v.second)));
    down.Push(out);
  }
};

template <typename K, typename V, typename W, typename F>
struct FlatMapValuesStep {
  using Fn = F;
  F f;
  void Apply(std::pair<K, V>& v, Consumer<std::pair<K, W>>& down) {
    for (auto&& w : f(std::move(v.second))) {
      std::pair<K, W> out(v.first, W(std::move(w)));
      down.Push(out);
    }
  }
};

template <typename T, typename K, typename F>
struct KeyByStep {
  using Fn = F;
  F f;
  void Apply(T& v, Consumer<std::pair<K, T>>& down) {
    K key = f(static_cast<const T&>(v));
    std::pair<K, T> out(std::move(key), std::move(v));
    down.Push(out);
  }
};

// One narrow transformation, pipelined: records flow from the parent through
// Step into `out` without being stored.
template <typename In, typename Out, typename Step>
struct PipeOp {
  static void Run(TaskContext& tc, const NodeView& node, uint32_t partition, ErasedConsumer& out) {
    (void)Registered<&Run, NodeSignature<Out, In>>::value;
    CapturedFn<typename Step::Fn> fn(node.capture);
    Step step{fn.get()};
    class Adapter final : public Consumer<In> {
     public:
      Adapter(Step& s, Consumer<Out>& d) : step_(s), down_(d) {}
      void Push(In& v) override { step_.Apply(v, down_); }

     private:
      Step& step_;
      Consumer<Out>& down_;
    } adapter(step, As<Out>(out));
    tc.RunParent(node, 0, partition, adapter);
  }
};

}  // namespace ember::internal
