// Plain-text rendering of records, one record per line, as written by
// saveAsTextFile. The format is meant for humans and line tools (cut, sort,
// awk), so it is flat and unquoted:
//
//   strings          as-is (no quoting or escaping)
//   char             the character itself
//   integers         decimal (std::to_chars)
//   float, double    the shortest text that reads back to the same value
//   bool             true / false
//   pair, tuple,     fields joined by '\t'   (WordCount lines: "word\t42")
//   EMBER_FIELDS structs
//   vector           elements joined by ','
//   optional         the value, or nothing when empty
//
// Other types opt in by specializing ember::TextFormatter<T> with
//   static void Append(std::string& out, const T&);
//
// Thread-safety: all functions are reentrant; `out` must not be shared.
#pragma once

#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/record.h"  // HasEmberFields

namespace ember {

// The customization point; undefined for unsupported types.
template <class T, class Enable = void>
struct TextFormatter;

template <class T>
concept TextFormattable = requires(std::string& out, const T& v) {
  TextFormatter<T>::Append(out, v);
};

template <class T>
inline void AppendText(std::string& out, const T& v) {
  static_assert(TextFormattable<T>,
                "ember::AppendText: unsupported type; add EMBER_FIELDS(...) to the struct or "
                "specialize ember::TextFormatter<T>");
  TextFormatter<T>::Append(out, v);
}

namespace text_internal {

inline constexpr char kFieldSeparator = '\t';
inline constexpr char kElementSeparator = ',';
// Enough for any integer and for the shortest round-trip form of a double
// (at most 24 characters).
inline constexpr size_t kNumberBufferBytes = 32;

template <class T>
inline void AppendNumber(std::string& out, T v) {
  char buf[kNumberBufferBytes];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  // The buffer fits every value of every arithmetic type, so ec is always ok.
  (void)ec;
  out.append(buf, static_cast<size_t>(end - buf));
}

template <class Tuple, size_t... I>
void AppendFields(std::string& out, const Tuple& t, std::index_sequence<I...>) {
  ((I == 0 ? void() : out.push_back(kFieldSeparator),
    AppendText(out, static_cast<const std::remove_cvref_t<std::tuple_element_t<I, Tuple>>&>(
                        std::get<I>(t)))),
   ...);
}

template <class Tuple>
struct AllFormattable : std::false_type {};
template <class... E>
struct AllFormattable<std::tuple<E...>>
    : std::bool_constant<(TextFormattable<std::remove_cvref_t<E>> && ...)> {};

}  // namespace text_internal

template <>
struct TextFormatter<bool> {
  static void Append(std::string& out, bool v) { out.append(v ? "true" : "false"); }
};

template <>
struct TextFormatter<char> {
  static void Append(std::string& out, char v) { out.push_back(v); }
};

template <class T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>) ||
    (std::is_floating_point_v<T> && sizeof(T) <= sizeof(double)) struct TextFormatter<T> {
  static void Append(std::string& out, T v) { text_internal::AppendNumber(out, v); }
};

template <class T>
requires std::is_enum_v<T>
struct TextFormatter<T> {
  static void Append(std::string& out, T v) {
    AppendText(out, static_cast<std::underlying_type_t<T>>(v));
  }
};

template <>
struct TextFormatter<std::string> {
  static void Append(std::string& out, const std::string& v) { out.append(v); }
};
template <>
struct TextFormatter<std::string_view> {
  static void Append(std::string& out, std::string_view v) { out.append(v); }
};
template <>
struct TextFormatter<const char*> {
  static void Append(std::string& out, const char* v) { out.append(v); }
};

template <TextFormattable A, TextFormattable B>
struct TextFormatter<std::pair<A, B>> {
  static void Append(std::string& out, const std::pair<A, B>& v) {
    AppendText(out, v.first);
    out.push_back(text_internal::kFieldSeparator);
    AppendText(out, v.second);
  }
};

template <TextFormattable... E>
struct TextFormatter<std::tuple<E...>> {
  static void Append(std::string& out, const std::tuple<E...>& v) {
    text_internal::AppendFields(out, v, std::index_sequence_for<E...>{});
  }
};

template <TextFormattable T, class Alloc>
struct TextFormatter<std::vector<T, Alloc>> {
  static void Append(std::string& out, const std::vector<T, Alloc>& v) {
    bool first = true;
    for (const auto& e : v) {
      if (!first) out.push_back(text_internal::kElementSeparator);
      first = false;
      AppendText(out, static_cast<const T&>(e));
    }
  }
};

template <TextFormattable T>
struct TextFormatter<std::optional<T>> {
  static void Append(std::string& out, const std::optional<T>& v) {
    if (v.has_value()) AppendText(out, *v);
  }
};

template <class T>
requires HasEmberFields<T> && text_internal::AllFormattable<
    decltype(std::declval<const T&>().ember_fields())>::value struct TextFormatter<T> {
  static void Append(std::string& out, const T& v) {
    const auto fields = v.ember_fields();
    text_internal::AppendFields(
        out, fields,
        std::make_index_sequence<std::tuple_size_v<std::remove_cv_t<decltype(fields)>>>{});
  }
};

}  // namespace ember
