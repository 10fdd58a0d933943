// Command-line parsing of the binaries: --master forms, memory sizes, flags
// with environment fallbacks, and the progress line.
#include <gtest/gtest.h>

#include <cstdlib>

#include "common/flags.h"
#include "runtime/driver/master.h"
#include "runtime/driver/progress.h"

namespace ember {
namespace {

TEST(MasterTest, AcceptedForms) {
  struct Case {
    const char* text;
    Master::Kind kind;
    uint32_t threads, executors, cores;
  };
  const Case cases[] = {
      {"local", Master::Kind::kLocal, 1, 0, 1},
      {"local[3]", Master::Kind::kLocal, 3, 0, 1},
      {"local-cluster[2,1]", Master::Kind::kLocalCluster, 1, 2, 1},
      {"local-cluster[3,2,1024]", Master::Kind::kLocalCluster, 1, 3, 2},
      {"external[5]", Master::Kind::kExternal, 1, 5, 1},
  };
  for (const Case& c : cases) {
    auto m = ParseMaster(c.text);
    ASSERT_TRUE(m.ok()) << c.text << ": " << m.status().ToString();
    EXPECT_EQ(m->kind, c.kind) << c.text;
    EXPECT_EQ(m->threads, c.threads) << c.text;
    EXPECT_EQ(m->executors, c.executors) << c.text;
    EXPECT_EQ(m->cores_per_executor, c.cores) << c.text;
  }
  auto star = ParseMaster("local[*]");
  ASSERT_TRUE(star.ok());
  EXPECT_GE(star->threads, 1u);
}

TEST(MasterTest, RejectsBadFormsNamingTheInput) {
  for (const char* bad : {"", "yarn", "local[0]", "local[x]", "local[]", "local[2", "local-cluster[2]",
                          "local-cluster[0,1]", "local-cluster[2,0]", "local-cluster[2,1,0]",
                          "external[]", "external[0]", "local[99999]", "local[1,2]"}) {
    auto m = ParseMaster(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(m.status().message().find(std::string("'") + bad + "'"), std::string::npos)
        << m.status().message();
  }
}

TEST(MemoryTest, Sizes) {
  const std::pair<const char*, uint64_t> good[] = {
      {"1024", 1024}, {"512m", 512ull << 20}, {"2g", 2ull << 30}, {"2G", 2ull << 30},
      {"64k", 64ull << 10}, {"1t", 1ull << 40}, {"3gb", 3ull << 30}};
  for (const auto& [text, bytes] : good) {
    auto v = ParseMemory(text);
    ASSERT_TRUE(v.ok()) << text;
    EXPECT_EQ(*v, bytes) << text;
  }
  for (const char* bad : {"", "g", "12q", "-1g", "0", "1.5g", "99999999999999t"}) {
    EXPECT_FALSE(ParseMemory(bad).ok()) << bad;
  }
}

TEST(FlagParserTest, FlagsEnvironmentAndPassThrough) {
  cli::FlagParser flags("prog", "", {{"master", "M", ""}, {"conf", "KV", "", true},
                                     {"app-id", "ID", ""}, {"progress", "", ""}});
  ::setenv("EMBER_APP_ID", "from-env", 1);
  const char* argv[] = {"prog", "--master=local[2]", "--conf", "a=1", "--conf=b=2",
                        "--progress", "app.so", "--master", "x"};
  ASSERT_TRUE(flags.Parse(9, argv).ok());
  EXPECT_EQ(*flags.Get("master"), "local[2]");
  EXPECT_EQ(flags.GetAll("conf"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(*flags.Get("app-id"), "from-env");
  EXPECT_TRUE(flags.IsSet("progress"));
  // Everything from the application on belongs to the application.
  EXPECT_EQ(flags.positional(), (std::vector<std::string>{"app.so", "--master", "x"}));
  ::unsetenv("EMBER_APP_ID");
  EXPECT_FALSE(flags.Get("app-id").has_value());
}

TEST(FlagParserTest, Errors) {
  cli::FlagParser flags("prog", "", {{"master", "M", ""}, {"progress", "", ""}});
  const char* unknown[] = {"prog", "--bogus", "x"};
  EXPECT_NE(flags.Parse(3, unknown).message().find("--bogus"), std::string::npos);
  cli::FlagParser f2("prog", "", {{"master", "M", ""}});
  const char* missing[] = {"prog", "--master"};
  EXPECT_NE(f2.Parse(2, missing).message().find("needs a value"), std::string::npos);
  cli::FlagParser f3("prog", "", {{"progress", "", ""}});
  const char* valued[] = {"prog", "--progress=yes"};
  EXPECT_FALSE(f3.Parse(2, valued).ok());
  EXPECT_FALSE(cli::ParseIntFlag("port", "70000", 0, 65535).ok());
  EXPECT_FALSE(cli::ParseIntFlag("port", "12x", 0, 65535).ok());
  EXPECT_EQ(*cli::ParseIntFlag("port", "8080", 0, 65535), 8080);
}

TEST(ProgressTest, RendersLikeSpark) {
  scheduler::StageProgress s;
  s.stage_id = 1;
  s.total = 10;
  s.done = 3;
  s.running = 2;
  const std::string line = RenderProgress({s}, 50);
  EXPECT_EQ(line.rfind("[Stage 1:", 0), 0u) << line;
  EXPECT_NE(line.find("(3 + 2) / 10]"), std::string::npos) << line;
  EXPECT_NE(line.find("=>"), std::string::npos) << line;
  EXPECT_LE(line.size(), 50u);
  EXPECT_EQ(RenderProgress({}, 80), "");
  // Two stages share the width.
  scheduler::StageProgress t = s;
  t.stage_id = 2;
  const std::string two = RenderProgress({s, t}, 80);
  EXPECT_NE(two.find("[Stage 2:"), std::string::npos) << two;
  EXPECT_LE(two.size(), 80u);
}

}  // namespace
}  // namespace ember
