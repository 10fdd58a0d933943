// JSON helpers that never throw, for a library that promises not to.
//
// nlohmann::json::dump() throws type_error.316 on a string that is not valid
// UTF-8 (a label copied from a binary file, a message cut mid-character), so
// everything the library serialises goes through DumpJson, which replaces
// bad bytes with U+FFFD. Text kept in error messages is cut with Utf8Prefix,
// so a cut never leaves half a character behind to trip a later dump().
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ember::kube {

// Compact JSON; invalid UTF-8 in strings becomes U+FFFD instead of throwing.
std::string DumpJson(const nlohmann::json& value);

// The longest prefix of `text` no longer than `max_bytes` that does not end
// inside a UTF-8 sequence.
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes);

// Non-throwing field access. json::value(key, default) throws when the
// object is not an object or the field holds another type, and what the API
// (or a caller) hands us is trusted only that far. Each returns the field
// when `object` is an object holding `key` with the right type, else the
// fallback.
const nlohmann::json& ObjectAt(const nlohmann::json& object, std::string_view key);  // else {}
std::string StringAt(const nlohmann::json& object, std::string_view key,
                     std::string_view fallback = {});
int64_t IntAt(const nlohmann::json& object, std::string_view key, int64_t fallback);

}  // namespace ember::kube
