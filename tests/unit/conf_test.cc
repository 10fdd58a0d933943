// runtime/conf: known keys, Spark equivalents in Spark's units, typos named
// with the closest key, bad values, and conflicting spellings.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "runtime/conf/conf.h"

namespace ember::conf {
namespace {

Result<Parsed> P(std::map<std::string, std::string> raw) {
  return Parse(raw);
}

TEST(ConfTest, EmberKeysAreTypedAndOtherKeysAreTheApplications) {
  auto p = P({{"ember.task.maxFailures", "7"},
              {"ember.executor.heartbeatTimeoutMs", "2.5s"},
              {"ember.executor.heartbeatIntervalMs", "750"},
              {"ember.driver.maxResultSize", "2g"},
              {"ember.reducer.maxSizeInFlight", "1048576"},
              {"myapp.input", "whatever"}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->settings.Get("ember.task.maxFailures"), 7);
  EXPECT_EQ(p->settings.Get("ember.executor.heartbeatTimeoutMs"), 2500);
  EXPECT_EQ(p->settings.Get("ember.executor.heartbeatIntervalMs"), 750);
  EXPECT_EQ(p->settings.Get("ember.driver.maxResultSize"), int64_t{2} << 30);
  EXPECT_EQ(p->settings.Get("ember.reducer.maxSizeInFlight"), 1 << 20);
  EXPECT_FALSE(p->settings.Get("myapp.input").has_value());
  EXPECT_TRUE(p->ignored.empty());
}

TEST(ConfTest, SparkKeysWithAnEquivalentAreHonouredInSparksUnits) {
  auto p = P({{"spark.task.maxFailures", "2"},
              {"spark.default.parallelism", "12"},
              {"spark.network.timeout", "30"},              // bare: seconds, as in Spark
              {"spark.executor.heartbeatInterval", "500"},  // bare: ms, as in Spark
              {"spark.reducer.maxSizeInFlight", "96"},      // bare: MiB, as in Spark
              {"spark.driver.maxResultSize", "0"},
              {"spark.shuffle.io.retryWait", "100ms"}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->settings.Get("ember.task.maxFailures"), 2);
  EXPECT_EQ(p->settings.Get("ember.default.parallelism"), 12);
  EXPECT_EQ(p->settings.Get("ember.executor.heartbeatTimeoutMs"), 30'000);
  EXPECT_EQ(p->settings.Get("ember.executor.heartbeatIntervalMs"), 500);
  EXPECT_EQ(p->settings.Get("ember.reducer.maxSizeInFlight"), int64_t{96} << 20);
  EXPECT_EQ(p->settings.Get("ember.driver.maxResultSize"), 0);
  EXPECT_EQ(p->settings.Get("ember.shuffle.io.retryWaitMs"), 100);
}

TEST(ConfTest, OtherSparkKeysAreReportedAsIgnored) {
  auto p = P({{"spark.executor.memoryOverhead", "1g"}, {"spark.sql.shuffle.partitions", "9"}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->ignored, (std::vector<std::string>{"spark.executor.memoryOverhead=1g",
                                                  "spark.sql.shuffle.partitions=9"}));
}

TEST(ConfTest, AnUnknownEmberKeyNamesTheClosestKnownOne) {
  auto p = P({{"ember.tsk.maxFailure", "3"}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("unknown configuration key 'ember.tsk.maxFailure'"),
            std::string::npos)
      << p.status().message();
  EXPECT_NE(p.status().message().find("closest known key is 'ember.task.maxFailures'"),
            std::string::npos)
      << p.status().message();

  auto bogus = P({{"ember.bogus", "8"}});
  ASSERT_FALSE(bogus.ok());
  EXPECT_NE(bogus.status().message().find("'ember.bogus'"), std::string::npos);
}

TEST(ConfTest, BadValuesNameTheKeyAndWhatIsExpected) {
  struct Case {
    std::string key, value, needle;
  };
  for (const Case& c : std::vector<Case>{
           {"ember.task.maxFailures", "many", "is not an integer"},
           {"ember.task.maxFailures", "0", "below the minimum of 1"},
           {"ember.task.maxFailures", "3x", "is not an integer"},
           {"ember.executor.heartbeatTimeoutMs", "10 parsecs", "expected a duration"},
           {"ember.executor.heartbeatTimeoutMs", "-5s", "expected a duration"},
           {"ember.executor.heartbeatTimeoutMs", "500", "below the minimum of 1000 ms"},
           {"ember.driver.maxResultSize", "lots", "expected a size"},
           {"spark.network.timeout", "2h3", "expected a duration"},
           {"ember.shuffle.io.maxRetries", "", "is not an integer"},
       }) {
    auto p = P({{c.key, c.value}});
    ASSERT_FALSE(p.ok()) << c.key << "=" << c.value;
    EXPECT_NE(p.status().message().find("invalid --conf " + c.key + "=" + c.value),
              std::string::npos)
        << p.status().message();
    EXPECT_NE(p.status().message().find(c.needle), std::string::npos) << p.status().message();
  }
}

TEST(ConfTest, TwoSpellingsOfOneKeyMustAgree) {
  EXPECT_TRUE(P({{"ember.task.maxFailures", "3"}, {"spark.task.maxFailures", "3"}}).ok());
  auto p = P({{"ember.task.maxFailures", "3"}, {"spark.task.maxFailures", "5"}});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("set the same thing to different values"), std::string::npos)
      << p.status().message();
}

TEST(ConfTest, EveryKeyIsEmberPrefixedUniqueAndDocumented) {
  std::set<std::string_view> names, spark;
  for (const Key& k : Keys()) {
    EXPECT_EQ(k.name.rfind("ember.", 0), 0u) << k.name;
    EXPECT_TRUE(names.insert(k.name).second) << k.name;
    if (!k.spark_name.empty()) {
      EXPECT_TRUE(spark.insert(k.spark_name).second) << k.spark_name;
    }
    EXPECT_FALSE(k.help.empty()) << k.name;
  }
}

TEST(ConfTest, TextKeysKeepTheirValueAndAnEmptyOneIsRefused) {
  auto parsed = Parse({{"ember.eventLog.dir", "/var/log/ember events"}});
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->settings.GetText("ember.eventLog.dir"), "/var/log/ember events");
  EXPECT_EQ(parsed->settings.GetText("ember.other"), "");
  auto empty = Parse({{"ember.eventLog.dir", ""}});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("ember.eventLog.dir"), std::string::npos)
      << empty.status().message();
  EXPECT_NE(empty.status().message().find("a non-empty path"), std::string::npos)
      << empty.status().message();
  auto jobs = Parse({{"spark.ui.retainedJobs", "10"}});
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->settings.Get("ember.ui.retainedJobs"), 10);
}

// docs/binaries.md lists every key, with its Spark equivalent on the same
// row, and no key that does not exist.
TEST(ConfTest, TheDocumentedKeysAreTheKeys) {
  std::ifstream in(std::string(EMBER_REPO_ROOT) + "/docs/binaries.md");
  ASSERT_TRUE(in.good());
  std::map<std::string, std::string> rows;  // key -> its table row
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| `ember.", 0) != 0) continue;
    const size_t end = line.find('`', 3);
    rows[line.substr(3, end - 3)] = line;
  }
  for (const Key& k : Keys()) {
    auto row = rows.find(std::string(k.name));
    ASSERT_NE(row, rows.end()) << k.name << " is not documented in docs/binaries.md";
    if (!k.spark_name.empty()) {
      EXPECT_NE(row->second.find("| `" + std::string(k.spark_name) + "` |"), std::string::npos)
          << row->second;
    }
    rows.erase(row);
  }
  for (const auto& [name, row] : rows) ADD_FAILURE() << "documented but unknown: " << name;
}

}  // namespace
}  // namespace ember::conf
