// How a user function is named across processes.
//
// The driver and every executor load a byte-identical application library
// (checked by SHA-256). A function is then named by which library holds it
// and its offset from that library's load base; the offset is the same in
// every process even though ASLR moves the base. Only "invokers" are named
// this way: template functions the engine instantiates inside the user's
// library for each operator and closure type. Each invoker registers its
// address when the library is loaded, so an executor can refuse an offset
// that does not name one (a corrupt or hostile task description) instead of
// jumping into the middle of the library.
//
// Closures travel as their bytes, which is why captures must be trivially
// copyable (see CaptureBytes below).
//
// Thread-safety: all functions here are safe to call concurrently.
#pragma once

#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/status.h"

namespace ember::internal {

enum class Library : uint8_t { kApplication = 0, kRuntime = 1, kProgram = 2 };

struct FnRef {
  Library library = Library::kApplication;
  uint64_t offset = 0;
  friend bool operator==(const FnRef&, const FnRef&) = default;
};

// Records that `fn` is an invoker. Called from static initialisers in the
// application library; always returns true.
bool RegisterInvoker(const void* fn) noexcept;

// The identity of a registered invoker in this process. Aborts on a function
// outside the known libraries: that is an engine bug, not user input.
FnRef FnRefOf(const void* fn);

// Resolves `ref` in this process. INVALID_ARGUMENT when it does not name a
// registered invoker, FAILED_PRECONDITION when that library is not loaded.
Result<const void*> ResolveFn(const FnRef& ref);

// Tells the registry where the application library was loaded; `symbol` is
// any address inside it (the entry point).
void SetApplicationLibrary(const void* symbol);

// Odr-using Registered<fn>::value inside an invoker makes the library's
// static initialisation register that invoker at load time.
template <auto Fn>
struct Registered {
  static inline const bool value = RegisterInvoker(reinterpret_cast<const void*>(Fn));
};

template <auto Fn>
FnRef RefOf() {
  (void)Registered<Fn>::value;
  return FnRefOf(reinterpret_cast<const void*>(Fn));
}

// User functions must be lambdas or functors. A function pointer is
// trivially copyable too, but it names code at an address of the driver's
// process, which means nothing on an executor.
template <typename F>
constexpr void CheckUserFunction() {
  static_assert(!std::is_pointer_v<F> && !std::is_member_pointer_v<F>,
                "Ember: pass a lambda or a functor, not a function pointer (a pointer names code "
                "in the driver's process only); wrap it: [](auto x) { return fn(x); }");
}

// Closure bytes. The static_assert is the user-facing check: its message is
// what a user sees when a lambda captures a std::string or a vector.
template <typename F>
std::string CaptureBytes(const F& f) {
  static_assert(std::is_trivially_copyable_v<F>,
                "Ember: a function passed to an RDD operation must have trivially copyable "
                "captures (numbers, plain structs, Broadcast<T> handles). Capture larger or "
                "owning state (std::string, std::vector, maps) through ctx.broadcast(value) and "
                "capture the returned Broadcast<T> instead.");
  return std::string(reinterpret_cast<const char*>(&f), sizeof(F));
}

// Rebuilds a closure from its bytes, inside storage the caller owns.
template <typename F>
class CapturedFn {
 public:
  explicit CapturedFn(std::string_view bytes) {
    static_assert(std::is_trivially_copyable_v<F>);
    if (bytes.size() != sizeof(F)) {
      throw std::invalid_argument("closure size mismatch: library and task description disagree");
    }
    std::memcpy(&storage_, bytes.data(), sizeof(F));
  }
  const F& get() const { return *std::launder(reinterpret_cast<const F*>(&storage_)); }
  F& get() { return *std::launder(reinterpret_cast<F*>(&storage_)); }

 private:
  alignas(F) unsigned char storage_[sizeof(F)];
};

}  // namespace ember::internal
