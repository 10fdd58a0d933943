// Implements ember/function.h: the registry of invokers and the mapping
// between addresses and (library, offset) pairs.
#include <dlfcn.h>
#include <sys/auxv.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "ember/function.h"

namespace ember::internal {
namespace {

struct Registry {
  std::mutex mu;
  std::unordered_map<uintptr_t, InvokerSignature> invokers;  // by absolute address
  uintptr_t app_base = 0;
};

Registry& GetRegistry() {
  static Registry registry;
  return registry;
}

uintptr_t BaseOf(const void* address) {
  Dl_info info{};
  if (address == nullptr || dladdr(address, &info) == 0) return 0;
  return reinterpret_cast<uintptr_t>(info.dli_fbase);
}

uintptr_t RuntimeBase() {
  static const uintptr_t base = BaseOf(reinterpret_cast<const void*>(&RuntimeBase));
  return base;
}

uintptr_t ProgramBase() {
  // The main program's program headers live inside its own mapping.
  static const uintptr_t base = BaseOf(reinterpret_cast<const void*>(getauxval(AT_PHDR)));
  return base;
}

const char* LibraryName(Library library) {
  switch (library) {
    case Library::kApplication:
      return "application library";
    case Library::kRuntime:
      return "runtime library";
    case Library::kProgram:
      return "program";
  }
  return "unknown library";
}

}  // namespace

bool RegisterInvoker(const void* fn, const InvokerSignature& signature) noexcept {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.invokers[reinterpret_cast<uintptr_t>(fn)] = signature;
  return true;
}

void SetApplicationLibrary(const void* symbol) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.app_base = BaseOf(symbol);
}

FnRef FnRefOf(const void* fn) {
  const uintptr_t base = BaseOf(fn);
  const uintptr_t address = reinterpret_cast<uintptr_t>(fn);
  uintptr_t app_base;
  {
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    app_base = r.app_base;
  }
  if (base != 0 && base == app_base) return {Library::kApplication, address - base};
  if (base != 0 && base == RuntimeBase()) return {Library::kRuntime, address - base};
  if (base != 0 && base == ProgramBase()) return {Library::kProgram, address - base};
  // An operator outside every library we can name means the engine was
  // misused (e.g. an application linked twice); nothing sensible remains.
  std::fprintf(stderr, "ember: function %p is in no known library (base %p)\n", fn,
               reinterpret_cast<const void*>(base));
  std::abort();
}

Result<ResolvedFn> ResolveFn(const FnRef& ref) {
  Registry& r = GetRegistry();
  uintptr_t base = 0;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    switch (ref.library) {
      case Library::kApplication:
        base = r.app_base;
        break;
      case Library::kRuntime:
        base = RuntimeBase();
        break;
      case Library::kProgram:
        base = ProgramBase();
        break;
    }
  }
  if (base == 0) {
    return FailedPreconditionError(std::string("task refers to the ") + LibraryName(ref.library) +
                                   ", which is not loaded in this process");
  }
  const uintptr_t address = base + ref.offset;
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.invokers.find(address);
  if (it == r.invokers.end()) {
    std::ostringstream msg;
    msg << "task refers to offset 0x" << std::hex << ref.offset << " of the "
        << LibraryName(ref.library)
        << ", which is not an Ember operator (is the executor running the same library?)";
    return InvalidArgumentError(msg.str());
  }
  return ResolvedFn{reinterpret_cast<const void*>(address), it->second};
}

}  // namespace ember::internal
