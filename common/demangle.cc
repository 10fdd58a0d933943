#include "common/demangle.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace ember {

std::string DemangledName(const std::type_info& type) { return DemangledName(type.name()); }

std::string DemangledName(const char* mangled) {
  if (mangled == nullptr) return "(none)";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                             std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}

}  // namespace ember
