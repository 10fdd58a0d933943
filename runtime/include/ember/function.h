// How a user function is named across processes, and what it may carry.
//
// The driver and every executor load a byte-identical application library
// (checked by SHA-256). A function is then named by which library holds it
// and its offset from that library's load base; the offset is the same in
// every process even though ASLR moves the base. Only "invokers" are named
// this way: template functions the engine instantiates inside the user's
// library for each operator and function type. Each invoker registers its
// address and its signature (the record types it reads and writes, how many
// parents it takes) when the library is loaded, so an executor refuses an
// offset that does not name one, and a chain of nodes whose types do not
// fit, instead of jumping into the middle of the library or reading one
// type as another.
//
// User functions run in other processes, so they carry no captures at all:
// a captured reference, pointer or `this` would point into the driver's
// memory. What a function needs travels explicitly, encoded like a record:
//
//   rdd.map(ember::with(prefix, [](const std::string& prefix, int64_t x) {
//     return prefix + std::to_string(x);
//   }));
//
// A large value goes through ctx.broadcast(value), whose handle is passed
// the same way.
//
// Thread-safety: all functions here are safe to call concurrently.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "ember/record.h"
#include "ember/status.h"

namespace ember {

// A function together with the state it needs: ember::with(state, fn)
// calls fn(state, args...). `state` is encoded with the record codec, so it
// may be anything a record may be (strings, vectors, maps, EMBER_FIELDS
// structs, Broadcast<T> handles); `fn` must capture nothing.
template <typename S, typename F>
struct Bound {
  using State = S;
  using Fn = F;
  S state;
  F fn;

  template <typename... A>
  decltype(auto) operator()(A&&... args) {
    return fn(state, std::forward<A>(args)...);
  }
  template <typename... A>
  decltype(auto) operator()(A&&... args) const {
    return fn(state, std::forward<A>(args)...);
  }
};

namespace internal {
template <typename F>
struct IsBound : std::false_type {};
template <typename S, typename F>
struct IsBound<Bound<S, F>> : std::true_type {};

}  // namespace internal

template <typename S, typename F>
Bound<std::decay_t<S>, F> with(S&& state, F fn) {
  using State = std::decay_t<S>;
  static_assert(std::is_empty_v<F> && !std::is_pointer_v<F>,
                "Ember: the function given to ember::with must capture nothing; everything it "
                "needs is the state argument");
  static_assert(Encodable<State>,
                "Ember: the state given to ember::with must be encodable like a record (numbers, "
                "std::string, pair, tuple, vector, optional, maps, EMBER_FIELDS structs, "
                "Broadcast<T>)");
  static_assert(OwnsBytes<State>,
                "Ember: the state given to ember::with must own its bytes: a std::string_view, "
                "span or pointer would point into the driver's memory; use std::string or "
                "std::vector");
  return Bound<State, F>{std::forward<S>(state), std::move(fn)};
}

}  // namespace ember

namespace ember::internal {

enum class Library : uint8_t { kApplication = 0, kRuntime = 1, kProgram = 2 };

struct FnRef {
  Library library = Library::kApplication;
  uint64_t offset = 0;
  friend bool operator==(const FnRef&, const FnRef&) = default;
};

// What an invoker reads and writes, by the mangled names of the record
// types (typeid(T).name(), equal across the libraries of one process).
struct InvokerSignature {
  enum class Kind : uint8_t { kNode, kShuffleWriter, kResult };
  Kind kind = Kind::kNode;
  // A node's records; null for writers and result sinks.
  const char* output = nullptr;
  // What a node reads from each parent, or what a writer or sink reads from
  // the stage's top node; null for a node that reads no parent (a source, a
  // shuffle read). kSameAsParents: whatever its parents produce (union).
  const char* input = nullptr;
  // How many parents a node reads: 0, 1, kAnyParents (one or more) or
  // kAnyCount (none or more).
  int parents = 0;
  // How many shuffles a node reads: 0, 1 or kAnyCount.
  int shuffles = 0;
};
inline constexpr int kAnyParents = -1;
inline constexpr int kAnyCount = -2;
inline constexpr const char* kSameAsParents = "*";

template <typename T>
const char* RecordTypeName() {
  return typeid(T).name();
}

// Signatures of the invoker shapes.
template <typename Out, typename In>
struct NodeSignature {  // In = void: reads no parent
  static InvokerSignature Get() {
    if constexpr (std::is_void_v<In>) {
      return {InvokerSignature::Kind::kNode, RecordTypeName<Out>(), nullptr, 0};
    } else {
      return {InvokerSignature::Kind::kNode, RecordTypeName<Out>(), RecordTypeName<In>(), 1};
    }
  }
};
// The read side of one shuffle: no parent, one shuffle.
template <typename Out>
struct ShuffleReadSignature {
  static InvokerSignature Get() {
    return {InvokerSignature::Kind::kNode, RecordTypeName<Out>(), nullptr, 0, 1};
  }
};
// Reads any number of parents producing In and any number of shuffles
// (cogroup, whose operator checks the mix against its capture).
template <typename Out, typename In>
struct MixedReadSignature {
  static InvokerSignature Get() {
    return {InvokerSignature::Kind::kNode, RecordTypeName<Out>(), RecordTypeName<In>(), kAnyCount,
            kAnyCount};
  }
};
template <typename In>
struct WriterSignature {
  static InvokerSignature Get() {
    return {InvokerSignature::Kind::kShuffleWriter, nullptr, RecordTypeName<In>(), 0};
  }
};
template <typename In>
struct ResultSignature {
  static InvokerSignature Get() {
    return {InvokerSignature::Kind::kResult, nullptr, RecordTypeName<In>(), 0};
  }
};

// Records that `fn` is an invoker with `signature`. Called from static
// initialisers in the application library; always returns true.
bool RegisterInvoker(const void* fn, const InvokerSignature& signature) noexcept;

// The identity of a registered invoker in this process. Aborts on a function
// outside the known libraries: that is an engine bug, not user input.
FnRef FnRefOf(const void* fn);

struct ResolvedFn {
  const void* address = nullptr;
  InvokerSignature signature;
};

// Resolves `ref` in this process. INVALID_ARGUMENT when it does not name a
// registered invoker, FAILED_PRECONDITION when that library is not loaded.
Result<ResolvedFn> ResolveFn(const FnRef& ref);

// Tells the registry where the application library was loaded; `symbol` is
// any address inside it (the entry point).
void SetApplicationLibrary(const void* symbol);

// Odr-using Registered<fn, Signature>::value inside an invoker makes the
// library's static initialisation register that invoker at load time.
template <auto Fn, typename Signature>
struct Registered {
  static inline const bool value =
      RegisterInvoker(reinterpret_cast<const void*>(Fn), Signature::Get());
};

template <auto Fn>
FnRef RefOf() {
  return FnRefOf(reinterpret_cast<const void*>(Fn));
}

// The user-facing checks of a function argument; their messages are what a
// user sees first.
template <typename F>
constexpr void CheckUserFunction() {
  static_assert(!std::is_pointer_v<F> && !std::is_member_pointer_v<F>,
                "Ember: pass a lambda or a functor, not a function pointer (a pointer names code "
                "in the driver's process only); wrap it: [](auto x) { return fn(x); }");
  static_assert(IsBound<F>::value || std::is_empty_v<F>,
                "Ember: a function passed to an RDD operation must capture nothing: it runs in "
                "executor processes, where a captured reference, pointer or `this` means "
                "nothing. Pass the state it needs explicitly: ember::with(value, [](const Value& "
                "v, auto record) { ... }); value is encoded like a record, and a large one goes "
                "through ctx.broadcast(value).");
}

// What a function's encoded state needs kept alive while an RDD that runs
// it may still run: the leases of the broadcast variables in it (see
// broadcast.h), whose values are freed everywhere once the last one goes.
using Retained = std::vector<std::shared_ptr<const void>>;

// While one is in scope on a thread, encoding a broadcast handle adds its
// lease to `into`.
class RetainScope {
 public:
  explicit RetainScope(Retained* into) : previous_(current_), into_(into) { current_ = this; }
  ~RetainScope() { current_ = previous_; }
  RetainScope(const RetainScope&) = delete;
  RetainScope& operator=(const RetainScope&) = delete;
  static void Note(std::shared_ptr<const void> lease) {
    if (current_ != nullptr && current_->into_ != nullptr && lease != nullptr) {
      current_->into_->push_back(std::move(lease));
    }
  }

 private:
  static inline thread_local RetainScope* current_ = nullptr;
  RetainScope* previous_;
  Retained* into_;
};

// What travels with a function: nothing for a captureless one, the encoded
// state for ember::with. What the state needs kept alive goes to *retained.
template <typename F>
std::string CaptureBytes(const F& f, Retained* retained = nullptr) {
  CheckUserFunction<F>();
  if constexpr (IsBound<F>::value) {
    RetainScope scope(retained);
    return EncodeToString(f.state);
  } else {
    (void)f;
    (void)retained;
    return std::string();
  }
}

// Rebuilds a function from what CaptureBytes made of it. Bytes that do not
// fit (a library and a task description that disagree) throw, and the task
// fails with the message.
template <typename F>
class CapturedFn {
 public:
  explicit CapturedFn(std::string_view bytes) {
    if constexpr (IsBound<F>::value) {
      RecordReader reader(bytes);
      Status st = Decode(reader, f_.state);
      if (st.ok() && !reader.AtEnd()) st = DataLossError("trailing bytes");
      if (!st.ok()) {
        throw std::invalid_argument("decoding the state of a function (ember::with): " +
                                    st.message());
      }
    } else if (!bytes.empty()) {
      throw std::invalid_argument(
          "state bytes for a function that has none: library and task description disagree");
    }
  }
  const F& get() const { return f_; }
  F& get() { return f_; }

 private:
  F f_{};
};

}  // namespace ember::internal
