// Readable C++ type names for error messages ("std::runtime_error" rather
// than "St13runtime_error").
#pragma once

#include <string>
#include <typeinfo>

namespace ember {

std::string DemangledName(const std::type_info& type);
// The same for a mangled name, as typeid(T).name() gives it.
std::string DemangledName(const char* mangled);

}  // namespace ember
