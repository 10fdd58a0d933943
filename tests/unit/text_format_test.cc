// AppendText: the line format of saveAsTextFile, pinned case by case.
#include <ember/text_format.h>

#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <system_error>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace ember {
namespace {

struct Row {
  std::string name;
  int64_t count = 0;
  std::vector<double> scores;
  EMBER_FIELDS(name, count, scores)
};

struct Opaque {};

static_assert(TextFormattable<Row>);
static_assert(!TextFormattable<Opaque>);
static_assert(!TextFormattable<std::vector<Opaque>>);

template <class T>
std::string Text(const T& v) {
  std::string out;
  AppendText(out, v);
  return out;
}

TEST(TextFormatTest, Cases) {
  struct Case {
    std::string name;
    std::string actual;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"string as-is", Text(std::string("a \"b\"\tc")), "a \"b\"\tc"},
      {"empty string", Text(std::string()), ""},
      {"string_view", Text(std::string_view("view")), "view"},
      {"char", Text('x'), "x"},
      {"int", Text(42), "42"},
      {"negative int64", Text(INT64_MIN), "-9223372036854775808"},
      {"uint64 max", Text(UINT64_MAX), "18446744073709551615"},
      {"int8", Text(int8_t{-7}), "-7"},
      {"uint8", Text(uint8_t{200}), "200"},
      {"double shortest", Text(0.1), "0.1"},
      {"double integral", Text(2.0), "2"},
      {"double exponent", Text(1e300), "1e+300"},
      {"double negative zero", Text(-0.0), "-0"},
      {"double infinity", Text(std::numeric_limits<double>::infinity()), "inf"},
      {"float shortest", Text(0.1f), "0.1"},
      {"bool true", Text(true), "true"},
      {"bool false", Text(false), "false"},
      {"wordcount pair", Text(std::make_pair(std::string("word"), int64_t{3})), "word\t3"},
      {"tuple", Text(std::make_tuple(1, std::string("b"), 2.5, false)), "1\tb\t2.5\tfalse"},
      {"empty tuple", Text(std::tuple<>()), ""},
      {"vector", Text(std::vector<int>{1, 2, 3}), "1,2,3"},
      {"empty vector", Text(std::vector<int>{}), ""},
      {"vector of strings", Text(std::vector<std::string>{"a", "", "c"}), "a,,c"},
      {"optional value", Text(std::optional<int>(5)), "5"},
      {"optional empty", Text(std::optional<int>()), ""},
      {"pair with vector", Text(std::make_pair(std::string("k"), std::vector<int>{1, 2})), "k\t1,2"},
      {"pair with empty optional", Text(std::make_pair(1, std::optional<std::string>())), "1\t"},
      {"struct", Text(Row{"r", 9, {0.5, 1}}), "r\t9\t0.5,1"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.actual, c.expected) << c.name;
  }
}

TEST(TextFormatTest, AppendsWithoutClearing) {
  std::string out = "prefix:";
  AppendText(out, std::make_pair(std::string("w"), 1));
  out.push_back('\n');
  AppendText(out, std::make_pair(std::string("x"), 2));
  EXPECT_EQ(out, "prefix:w\t1\nx\t2");
}

TEST(TextFormatTest, DoublesRoundTripThroughText) {
  for (double d : {0.1, 1.0 / 3.0, 123456.789e-200, std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::denorm_min()}) {
    const std::string text = Text(d);
    double back = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), back);
    EXPECT_TRUE(ec == std::errc() && end == text.data() + text.size()) << text;
    EXPECT_EQ(back, d) << text;
  }
}

}  // namespace
}  // namespace ember
