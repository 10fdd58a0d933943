#include "operator/kube/core/json_util.h"

namespace ember::kube {

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

std::string_view Utf8Prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  // A UTF-8 sequence is at most 4 bytes: step back over at most 3
  // continuation bytes (10xxxxxx) to the start of the one being cut.
  size_t cut = max_bytes;
  for (int i = 0; i < 3 && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80; ++i) {
    --cut;
  }
  return text.substr(0, cut);
}

namespace {

const nlohmann::json* Find(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

const nlohmann::json& ObjectAt(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json* const kEmpty = new nlohmann::json(nlohmann::json::object());
  const nlohmann::json* field = Find(object, key);
  return field != nullptr && field->is_object() ? *field : *kEmpty;
}

std::string StringAt(const nlohmann::json& object, std::string_view key,
                     std::string_view fallback) {
  const nlohmann::json* field = Find(object, key);
  if (field == nullptr || !field->is_string()) return std::string(fallback);
  return field->get<std::string>();
}

int64_t IntAt(const nlohmann::json& object, std::string_view key, int64_t fallback) {
  const nlohmann::json* field = Find(object, key);
  if (field == nullptr) return fallback;
  if (field->is_number_integer()) return field->get<int64_t>();  // signed or unsigned
  return fallback;
}

}  // namespace ember::kube
