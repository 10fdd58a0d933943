// Invalid and cut UTF-8 must not make the library throw (nlohmann's dump()
// throws type_error.316 on it).
#include <gtest/gtest.h>

#include "operator/kube/core/api_error.h"
#include "operator/kube/core/json_util.h"
#include "operator/kube/core/resource.h"
#include "operator/kube/core/watch_event.h"

namespace ember::kube {
namespace {

using nlohmann::json;

const std::string kInvalid = "bad \xff\xfe bytes";
// "é" is 2 bytes (C3 A9), "€" 3 (E2 82 AC), "😀" 4 (F0 9F 98 80).
const std::string kEuro = "\xe2\x82\xac";

bool DumpsCleanly(const std::string& text) {
  try {
    (void)json(text).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

json ConfigMapWith(const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", "cm"}, {"namespace", "ns"}}},
          {"data", {{"k", value}}}};
}

TEST(KubeJsonTest, DumpJsonReplacesInvalidUtf8) {
  EXPECT_FALSE(DumpsCleanly(kInvalid));
  std::string out = DumpJson(json{{"k", kInvalid}});
  EXPECT_NE(out.find("\xef\xbf\xbd"), std::string::npos) << out;  // U+FFFD
  EXPECT_TRUE(DumpsCleanly(json::parse(out)["k"].get<std::string>()));
}

TEST(KubeJsonTest, RequestBuildersDoNotThrowOnInvalidUtf8) {
  const auto cms = resources::ConfigMaps();
  const json object = ConfigMapWith(kInvalid);
  Result<HttpRequest> create = BuildCreate(cms, "ns", object);
  ASSERT_TRUE(create.ok());
  EXPECT_TRUE(json::accept(create->body));
  Result<HttpRequest> update = BuildUpdate(cms, object);
  ASSERT_TRUE(update.ok());
  EXPECT_TRUE(json::accept(update->body));
  Result<HttpRequest> patch = BuildMergePatch(cms, "ns", "cm", {{"data", {{"k", kInvalid}}}});
  ASSERT_TRUE(patch.ok());
  EXPECT_TRUE(json::accept(patch->body));
  ApplyOptions apply_options;
  apply_options.field_manager = "test";
  Result<HttpRequest> apply = BuildApply(cms, object, apply_options);
  ASSERT_TRUE(apply.ok());
  EXPECT_TRUE(json::accept(apply->body));
}

TEST(KubeJsonTest, Utf8PrefixNeverCutsACharacter) {
  EXPECT_EQ(Utf8Prefix("abc", 10), "abc");
  EXPECT_EQ(Utf8Prefix("abc", 2), "ab");
  const std::string euros = kEuro + kEuro;  // 6 bytes
  EXPECT_EQ(Utf8Prefix(euros, 3), kEuro);
  EXPECT_EQ(Utf8Prefix(euros, 4), kEuro);
  EXPECT_EQ(Utf8Prefix(euros, 5), kEuro);
  EXPECT_EQ(Utf8Prefix(euros, 6), euros);
  EXPECT_EQ(Utf8Prefix("\xf0\x9f\x98\x80x", 3), "");
  // Garbage of continuation bytes: bounded back-off, no loop to the start.
  EXPECT_EQ(Utf8Prefix(std::string(10, '\x80'), 8).size(), 5u);
}

TEST(KubeJsonTest, NonStatusBodyIsCutAtACharacterBoundary) {
  // 511 ASCII bytes then a 3-byte character straddling the 512-byte cut.
  std::string body = std::string(511, 'x') + kEuro + "tail";
  ApiError error = ApiErrorFromResponse(502, body);
  EXPECT_EQ(error.message, std::string(511, 'x'));
  EXPECT_TRUE(DumpsCleanly(error.message));
}

TEST(KubeJsonTest, WatchDecoderExcerptIsCutAtACharacterBoundary) {
  // A malformed line whose 120-byte excerpt would end inside a character.
  std::string line = "{" + std::string(118, 'x') + kEuro + std::string(50, 'y') + "\n";
  WatchEventDecoder decoder;
  std::vector<WatchEvent> events;
  Status fed = decoder.Feed(line, &events);
  ASSERT_FALSE(fed.ok());
  EXPECT_TRUE(DumpsCleanly(fed.message())) << fed.message();
}

TEST(KubeJsonTest, FieldAccessorsNeverThrowOnUnexpectedTypes) {
  const json object = {{"s", "text"}, {"i", 42},           {"u", 7u},
                       {"f", 1.5},    {"o", {{"k", "v"}}}, {"a", json::array({1})},
                       {"n", nullptr}};
  EXPECT_EQ(StringAt(object, "s"), "text");
  EXPECT_EQ(StringAt(object, "i", "fallback"), "fallback");
  EXPECT_EQ(StringAt(object, "missing"), "");
  EXPECT_EQ(IntAt(object, "i", -1), 42);
  EXPECT_EQ(IntAt(object, "u", -1), 7);
  EXPECT_EQ(IntAt(object, "s", -1), -1);
  EXPECT_EQ(IntAt(object, "f", -1), -1);
  EXPECT_EQ(IntAt(object, "n", -1), -1);
  EXPECT_EQ(ObjectAt(object, "o"), (json{{"k", "v"}}));
  EXPECT_EQ(ObjectAt(object, "a"), json::object());
  EXPECT_EQ(ObjectAt(object, "s"), json::object());
  // Not an object at all: json::value() would throw type_error.306 here.
  for (const json& other : {json("str"), json::array({1, 2}), json(3), json(nullptr)}) {
    EXPECT_EQ(StringAt(other, "k", "d"), "d");
    EXPECT_EQ(IntAt(other, "k", 5), 5);
    EXPECT_EQ(ObjectAt(other, "k"), json::object());
    EXPECT_EQ(StringAt(ObjectAt(other, "metadata"), "name"), "");
  }
}

TEST(KubeJsonTest, StatusKindOfAnotherTypeIsNotAStatus) {
  ApiError error = ApiErrorFromResponse(500, R"({"kind": 7, "message": "m"})");
  EXPECT_EQ(error.http_code, 500);
  EXPECT_EQ(error.reason, "InternalError");
}

}  // namespace
}  // namespace ember::kube
