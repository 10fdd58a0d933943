// The RDD operations, failures of user code, and every command-line error,
// through ember-submit as a real process. Inputs are generated per test
// from a seeded generator; expectations are computed here from those inputs,
// independently of the engine.
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine_test_util.h"

namespace ember::testing {
namespace {

namespace fs = std::filesystem;

std::string RandomToken(std::mt19937& gen, size_t min_len, size_t max_len) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::uniform_int_distribution<size_t> len(min_len, max_len);
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  std::string s(len(gen), ' ');
  for (char& c : s) c = kAlphabet[pick(gen)];
  return s;
}

// Concatenation by append: GCC 12 reports a false -Wrestrict for
// "literal" + std::string temporaries (GCC PR 105329).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string s;
  (s.append(parts), ...);
  return s;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return text;
}

// ------------------------------------------------------------ operations --

class OpsTest : public ::testing::TestWithParam<const char*> {
 protected:
  std::string master() const { return GetParam(); }

  // Runs an ops_app scenario; a fatal failure unless it succeeded, so that
  // a failed run is reported by its stderr, not by a diff against nothing.
  void Run(const std::vector<std::string>& args, AppOutput* out) {
    ProcessResult r = Submit(master(), EMBER_OPS_APP, args);
    ASSERT_TRUE(r.Exited(0)) << r.Describe();
    *out = ParseAppOutput(r.out);
  }

  std::string Write(const std::string& name, const std::vector<std::string>& lines) {
    const std::string path = dir_ / name;
    WriteFileOrDie(path, JoinLines(lines));
    return path;
  }

  std::mt19937 gen_{20240611};
  TempDir dir_;
};

TEST_P(OpsTest, GroupByKeyGathersEveryValueOfEachKeyOnce) {
  std::vector<std::string> lines;
  std::map<std::string, std::vector<std::string>> expected;
  std::uniform_int_distribution<int> key(0, 199);
  for (int i = 0; i < 3000; ++i) {
    const std::string k = Cat("k", std::to_string(key(gen_)));
    const std::string v = Cat("v", std::to_string(i), RandomToken(gen_, 0, 5));
    lines.push_back(k + " " + v);
    expected[k].push_back(v);
  }
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"groupbykey", Write("pairs.txt", lines)}, &out));
  std::map<std::string, std::vector<std::string>> actual;
  for (const auto& r : out.records) {
    ASSERT_EQ(r.size(), 2u);
    ASSERT_EQ(actual.count(r[0]), 0u) << "key " << r[0] << " appears in two groups";
    std::vector<std::string> values;
    for (size_t start = 0;;) {
      const size_t comma = r[1].find(',', start);
      values.push_back(r[1].substr(start, comma == std::string::npos ? comma : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    actual[r[0]] = Sorted(values);
  }
  for (auto& [k, v] : expected) v = Sorted(v);
  EXPECT_EQ(actual, expected);
}

TEST_P(OpsTest, DistinctKeepsEachLineExactlyOnce) {
  std::vector<std::string> pool = {""};  // the empty line is a record too
  for (int i = 0; i < 700; ++i) pool.push_back(RandomToken(gen_, 1, 12));
  std::vector<std::string> lines;
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  for (int i = 0; i < 5000; ++i) lines.push_back(pool[pick(gen_)]);
  const std::set<std::string> unique(lines.begin(), lines.end());
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"distinct", Write("lines.txt", lines)}, &out));
  EXPECT_EQ(Sorted(out.Singles()), std::vector<std::string>(unique.begin(), unique.end()));
}

TEST_P(OpsTest, UnionConcatenatesBothSidesWithoutShuffle) {
  std::vector<std::string> left, right;
  for (int i = 0; i < 1500; ++i) left.push_back(Cat("L", RandomToken(gen_, 1, 8)));
  for (int i = 0; i < 900; ++i) right.push_back(Cat("R", RandomToken(gen_, 1, 8)));
  // A line present on both sides stays twice: union is not a set union.
  left.push_back("shared");
  right.push_back("shared");
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"union", Write("left.txt", left), Write("right.txt", right)}, &out));
  std::vector<std::string> expected = left;
  expected.insert(expected.end(), right.begin(), right.end());
  EXPECT_EQ(Sorted(out.Singles()), Sorted(expected));
  EXPECT_EQ(out.Scalar("count"), std::to_string(expected.size()));
  EXPECT_EQ(std::stoul(out.Scalar("partitions")),
            std::stoul(out.Scalar("left_partitions")) + std::stoul(out.Scalar("right_partitions")));
}

TEST_P(OpsTest, RepartitionKeepsEveryRecordAndSetsThePartitionCount) {
  std::vector<std::string> lines;
  for (int i = 0; i < 4000; ++i) lines.push_back(std::to_string(i) + RandomToken(gen_, 0, 6));
  constexpr int kPartitions = 5;
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(
      Run({"repartition", Write("lines.txt", lines), std::to_string(kPartitions)}, &out));
  EXPECT_EQ(Sorted(out.Singles()), Sorted(lines));
  EXPECT_EQ(out.Scalar("partitions"), std::to_string(kPartitions));
  // mapPartitions ran once per partition and saw all the records.
  auto [begin, end] = out.scalars.equal_range("partition_size");
  uint64_t total = 0;
  int partitions = 0;
  for (auto it = begin; it != end; ++it, ++partitions) total += std::stoull(it->second);
  EXPECT_EQ(partitions, kPartitions);
  EXPECT_EQ(total, lines.size());
}

TEST_P(OpsTest, KeyByFilterAndMapValuesCompose) {
  std::vector<std::string> lines;
  for (int i = 0; i < 2000; ++i) lines.push_back(RandomToken(gen_, 0, 15));
  std::vector<std::vector<std::string>> expected;
  for (const auto& l : lines) {
    if (l.size() % 2 == 0) expected.push_back({std::to_string(l.size()), l + "!"});
  }
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"keyed", Write("lines.txt", lines)}, &out));
  EXPECT_EQ(Sorted(out.records), Sorted(expected));
}

TEST_P(OpsTest, TakeReturnsTheFirstRecordsInOrder) {
  std::vector<std::string> lines;
  for (int i = 0; i < 3000; ++i) lines.push_back(RandomToken(gen_, 1, 10));
  const std::string path = Write("lines.txt", lines);
  AppOutput few;
  ASSERT_NO_FATAL_FAILURE(Run({"take", path, "17"}, &few));
  EXPECT_EQ(few.Singles(), std::vector<std::string>(lines.begin(), lines.begin() + 17));
  // More than there are: everything, still in order.
  AppOutput all;
  ASSERT_NO_FATAL_FAILURE(Run({"take", path, std::to_string(lines.size() + 50)}, &all));
  EXPECT_EQ(all.Singles(), lines);
}

TEST_P(OpsTest, CountByKeyCountsEachKey) {
  std::vector<std::string> lines;
  std::map<std::string, int64_t> expected;
  std::uniform_int_distribution<int> key(0, 300);
  for (int i = 0; i < 6000; ++i) {
    lines.push_back(Cat("key", std::to_string(key(gen_))));
    ++expected[lines.back()];
  }
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"countbykey", Write("keys.txt", lines)}, &out));
  std::map<std::string, int64_t> actual;
  for (const auto& r : out.records) {
    ASSERT_EQ(r.size(), 2u);
    ASSERT_TRUE(actual.emplace(r[0], std::stoll(r[1])).second) << "duplicate key " << r[0];
  }
  EXPECT_EQ(actual, expected);
}

struct RangeCase {
  int64_t start, end, step;
  int slices;
};

TEST_P(OpsTest, RangeCountReduceAndCollectAgree) {
  for (const RangeCase& c :
       {RangeCase{-7, 1000, 3, 4}, RangeCase{50, -13, -4, 3}, RangeCase{0, 10, 1, 16}}) {
    SCOPED_TRACE(std::to_string(c.start) + ".." + std::to_string(c.end) + " step " +
                 std::to_string(c.step));
    std::vector<std::string> expected;
    int64_t sum = 0;
    for (int64_t v = c.start; c.step > 0 ? v < c.end : v > c.end; v += c.step) {
      expected.push_back(std::to_string(v));
      sum += v;
    }
    AppOutput out;
    ASSERT_NO_FATAL_FAILURE(Run({"numbers", std::to_string(c.start), std::to_string(c.end),
                                 std::to_string(c.step), std::to_string(c.slices)},
                                &out));
    EXPECT_EQ(out.Singles(), expected);
    EXPECT_EQ(out.Scalar("count"), std::to_string(expected.size()));
    EXPECT_EQ(out.Scalar("sum"), std::to_string(sum));
  }
}

TEST_P(OpsTest, ParallelizeKeepsOrderAcrossSlices) {
  std::vector<std::string> lines;
  for (int i = 0; i < 1234; ++i) lines.push_back(RandomToken(gen_, 1, 9));
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"parallelize", Write("lines.txt", lines), "7"}, &out));
  EXPECT_EQ(out.Scalar("partitions"), "7");
  EXPECT_EQ(out.Scalar("count"), std::to_string(lines.size()));
  EXPECT_EQ(out.Singles(), lines);
}

TEST_P(OpsTest, BroadcastDictionaryIsReadOnExecutors) {
  std::vector<std::string> dict;
  for (int i = 0; i < 5000; ++i)
    dict.push_back(Cat("w", std::to_string(i), RandomToken(gen_, 1, 12)));
  std::vector<std::string> indices;
  std::vector<std::vector<std::string>> expected;
  std::uniform_int_distribution<size_t> pick(0, dict.size() - 1);
  for (int i = 0; i < 2000; ++i) {
    const size_t k = pick(gen_);
    indices.push_back(std::to_string(k));
    expected.push_back({indices.back(), dict[k]});
  }
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(
      Run({"broadcast", Write("dict.txt", dict), Write("indices.txt", indices)}, &out));
  EXPECT_EQ(Sorted(out.records), Sorted(expected));
}

TEST_P(OpsTest, BroadcastSetFiltersWords) {
  std::vector<std::string> stop = {"the", "a", "of"};
  std::vector<std::string> words;
  std::map<std::string, int64_t> expected;
  std::uniform_int_distribution<int> pick(0, 20);
  for (int i = 0; i < 3000; ++i) {
    const int k = pick(gen_);
    words.push_back(k < 3 ? stop[k] : Cat("w", std::to_string(k)));
    if (k >= 3) ++expected[words.back()];
  }
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(
      Run({"stopwords", Write("stop.txt", stop), Write("words.txt", words)}, &out));
  std::map<std::string, int64_t> actual;
  for (const auto& r : out.records) actual[r.at(0)] = std::stoll(r.at(1));
  EXPECT_EQ(actual, expected);
}

TEST_P(OpsTest, ShuffleOutputIsReusedBySecondAction) {
  std::vector<std::string> lines;
  std::map<std::string, int64_t> expected;
  std::uniform_int_distribution<int> key(0, 99);
  for (int i = 0; i < 4000; ++i) {
    lines.push_back(Cat("k", std::to_string(key(gen_))));
    ++expected[lines.back()];
  }
  TempDir markers("ember-markers");
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"reuse", Write("keys.txt", lines), markers.path()}, &out));
  std::map<std::string, int64_t> actual;
  for (const auto& r : out.records) actual[r.at(0)] += std::stoll(r.at(1));
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(out.Scalar("distinct"), std::to_string(expected.size()));
  // count() ran the map side; collect() must have found its outputs.
  size_t evaluations = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(markers.path())) ++evaluations;
  EXPECT_EQ(std::to_string(evaluations), out.Scalar("map_partitions"));
}

TEST_P(OpsTest, ActionsOnEmptyRdds) {
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"empty"}, &out));
  EXPECT_EQ(out.Scalar("count"), "0");
  EXPECT_EQ(out.Scalar("collect_size"), "0");
  EXPECT_EQ(out.Scalar("take_size"), "0");
  EXPECT_EQ(out.Scalar("range_count"), "0");
  EXPECT_EQ(out.Scalar("filtered_shuffle_size"), "0");
  EXPECT_NE(out.Scalar("reduce_error").find("empty"), std::string::npos)
      << out.Scalar("reduce_error");
}

INSTANTIATE_TEST_SUITE_P(Masters, OpsTest, ::testing::Values("local-cluster[2,1]", "local[2]"),
                         [](const auto& info) {
                           return std::string(info.param).find("cluster") != std::string::npos
                                      ? std::string("LocalCluster")
                                      : std::string("Local");
                         });

// -------------------------------------------------------- user failures --

class UserFailureTest : public ::testing::TestWithParam<const char*> {};

TEST_P(UserFailureTest, ExceptionInUserFunctionFailsTheJobWithItsMessage) {
  ProcessResult r = Submit(GetParam(), EMBER_THROWING_APP, {});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.err.find("boom: bad record 42"), std::string::npos) << r.Describe();
  const auto errors = ErrorLines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.Describe();
  EXPECT_NE(errors[0].find("boom: bad record 42"), std::string::npos) << errors[0];
  EXPECT_EQ(r.out.find("counted"), std::string::npos) << "the action returned: " << r.out;
}

// Executor processes that die (here: abort() in a user function) are lost;
// the task runs elsewhere and kills that executor too. Once none is left the
// job fails at once, naming how the processes died, instead of waiting for
// executors that cannot come back.
TEST(ExecutorCrashTest, JobFailsNamingTheSignalWhenEveryExecutorDied) {
  ProcessResult r = Submit("local-cluster[2,1]", EMBER_THROWING_APP, {"abort"});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_FALSE(r.timed_out) << r.Describe();
  const auto errors = ErrorLines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.Describe();
  EXPECT_NE(errors[0].find("all executor processes have exited"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("killed by signal 6"), std::string::npos) << errors[0];
}

// A result too large for one message fails its task with a clear reason;
// it must not take the executor down (which would then happen to every
// executor the task is retried on).
TEST(ResultSizeTest, OversizedTaskResultFailsTheTaskNotTheExecutor) {
  // 32 Mi numbers near 2^62 encode to ~10 bytes each: ~320 MB in one task.
  ProcessResult r = Submit("local-cluster[1,1]", EMBER_OPS_APP,
                           {"numbers", "4611686018427387904", "4611686018459387904", "1", "1"});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  const auto errors = ErrorLines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.Describe();
  EXPECT_NE(errors[0].find("task result is"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[0].find("executor processes have exited"), std::string::npos) << errors[0];
}

INSTANTIATE_TEST_SUITE_P(Masters, UserFailureTest,
                         ::testing::Values("local[1]", "local-cluster[2,1]"), [](const auto& info) {
                           return std::string(info.param).find("cluster") != std::string::npos
                                      ? std::string("LocalCluster")
                                      : std::string("Local");
                         });

// --------------------------------------------------------------- errors --

// ember-executor refuses an incomplete or malformed command line before it
// contacts anyone.
TEST(ExecutorCommandLineTest, RejectsMissingAndMalformedFlags) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--executor-id", "1", "--app-id", "a", "--secret", "s"}, "missing --driver"},
      {{"--driver", "127.0.0.1:1", "--app-id", "a", "--secret", "s"}, "missing --executor-id"},
      {{"--driver", "127.0.0.1:1", "--executor-id", "1", "--app-id", "a", "--secret", "s",
        "--cores", "0"},
       "--cores '0'"},
      {{"--driver", "127.0.0.1:1", "--executor-id", "1", "--app-id", "a", "--secret", "s",
        "--memory", "lots"},
       "lots"},
      {{"--driver", "127.0.0.1:1", "--executor-id", "1", "--app-id", "a", "--secret", "s",
        "--memory-budget", "much"},
       "--memory-budget"},
      {{"--driver", "127.0.0.1:1", "--executor-id", "1", "--app-id", "a", "--secret", "s",
        "--memory", "1g", "--memory-budget", "2g"},
       "--memory-budget 2g is more than the executor's --memory"},
  };
  for (const auto& [args, expected] : cases) {
    std::vector<std::string> argv = {Bin("ember-executor")};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, 2) << r.Describe();
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.Describe();
  }
}

// One way to get the command line wrong, and what the message must name.
struct ErrorCase {
  std::string name;
  std::vector<std::string> argv;  // after ember-submit; "@DIR" is a scratch directory
  std::string expected;           // in the single error line
};

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class SubmitErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(SubmitErrorTest, FailsWithOneClearErrorLine) {
  TempDir dir;
  WriteFileOrDie(dir / "garbage.so", std::string("\x7f"
                                                 "ELF this is not really a library",
                                                 33));
  WriteFileOrDie(dir / "input.txt", "some words\n");
  std::vector<std::string> argv = {Bin("ember-submit"), "--no-progress"};
  for (std::string a : GetParam().argv) {
    if (a.rfind("@DIR", 0) == 0) a = dir.path() + a.substr(4);
    argv.push_back(a);
  }
  ProcessResult r = RunProcess(argv);
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.term_signal, 0) << r.Describe();
  const auto errors = ErrorLines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.Describe();
  std::string expected = GetParam().expected;
  if (expected.rfind("@DIR", 0) == 0) expected = dir.path() + expected.substr(4);
  EXPECT_NE(errors[0].find(expected), std::string::npos)
      << "error line: " << errors[0] << "\nexpected to contain: " << expected;
}

std::vector<ErrorCase> ErrorCases() {
  const std::string wc = EMBER_WORDCOUNT_APP;
  std::vector<ErrorCase> cases = {
      {"MissingApplication", {"--master", "local[1]", "@DIR/nope.so"}, "@DIR/nope.so"},
      {"NotASharedLibrary", {"--master", "local[1]", "@DIR/garbage.so"}, "@DIR/garbage.so"},
      {"NoEntryPoint", {"--master", "local[1]", EMBER_NOENTRY_APP}, "has no Ember entry point"},
      {"MissingInput",
       {"--master", "local[1]", wc, "@DIR/no-such-input", "@DIR/out"},
       "@DIR/no-such-input"},
      {"MissingInputCluster",
       {"--master", "local-cluster[2,1]", wc, "@DIR/no-such-input", "@DIR/out"},
       "@DIR/no-such-input"},
      {"ConfWithoutEquals", {"--master", "local[1]", "--conf", "ember.foo", wc}, "ember.foo"},
      {"MemoryBudgetOverExecutorMemory",
       {"--master", "local-cluster[2,1,64]", "--conf", "ember.memory.budget=1g", wc,
        "@DIR/input.txt", "@DIR/out"},
       "ember.memory.budget 1073741824 is more than the executors' memory, 67108864 bytes"},
      {"BadExecutorMemory", {"--master", "local[1]", "--executor-memory", "12q", wc}, "12q"},
      {"UnknownFlag", {"--master", "local[1]", "--frobnicate", wc}, "--frobnicate"},
      {"NoApplication", {"--master", "local[1]"}, "no application"},
      {"BadConfValue",
       {"--master", "local[1]", "--conf", "ember.task.maxFailures=zero", wc},
       "ember.task.maxFailures=zero"},
      {"UnknownConfKey",
       {"--master", "local[1]", "--conf", "ember.task.maxFailure=3", wc},
       "unknown configuration key 'ember.task.maxFailure'; the closest known key is "
       "'ember.task.maxFailures'"},
      {"BadSparkConfValue",
       {"--master", "local[1]", "--conf", "spark.network.timeout=soon", wc},
       "spark.network.timeout=soon"},
      {"BadPort", {"--master", "local-cluster[1,1]", "--port", "70000", wc}, "--port '70000'"},
      {"BadLogLevel", {"--master", "local[1]", "--log-level", "loud", wc}, "loud"},
      {"MissingSecretFile",
       {"--master", "external[1]", "--secret-file", "@DIR/no-secret", wc},
       "@DIR/no-secret"},
  };
  int i = 0;
  for (const char* master :
       {"local[0]", "local[x]", "local-cluster[2]", "yarn", "local-cluster[0,1]", "external[]"}) {
    cases.push_back(
        {Cat("BadMaster", std::to_string(i++)), {"--master", master, wc, "in", "out"}, master});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Cases, SubmitErrorTest, ::testing::ValuesIn(ErrorCases()),
                         [](const auto& info) { return info.param.name; });

// Results held by the driver are capped; past the cap the job fails with a
// message naming the key, and under it the same job succeeds.
TEST(SubmitConfTest, ResultsBeyondMaxResultSizeFailTheJobClearly) {
  for (const char* master : {"local[2]", "local-cluster[2,1]"}) {
    SCOPED_TRACE(master);
    ProcessResult over =
        RunProcess({Bin("ember-submit"), "--no-progress", "--master", master, "--conf",
                    "ember.driver.maxResultSize=1m", EMBER_OPS_APP, "collect", "100000"});
    EXPECT_EQ(over.exit_code, 1) << over.Describe();
    const auto errors = ErrorLines(over.err);
    ASSERT_EQ(errors.size(), 1u) << over.Describe();
    EXPECT_NE(errors[0].find("more than ember.driver.maxResultSize (1048576 bytes)"),
              std::string::npos)
        << errors[0];
    ProcessResult under =
        RunProcess({Bin("ember-submit"), "--no-progress", "--master", master, "--conf",
                    "spark.driver.maxResultSize=64m", EMBER_OPS_APP, "collect", "100000"});
    ASSERT_TRUE(under.Exited(0)) << under.Describe();
    EXPECT_EQ(ParseAppOutput(under.out).Scalar("collected"), "100000");
  }
}

// Spark's keys carry over: one with an equivalent is applied, any other is
// reported once and ignored.
TEST(SubmitConfTest, SparkKeysAreHonouredOrReportedAsIgnored) {
  TempDir dir;
  ProcessResult r = RunProcess({Bin("ember-submit"), "--no-progress", "--master", "local[2]",
                                "--conf", "spark.default.parallelism=3", "--conf",
                                "spark.sql.shuffle.partitions=7", EMBER_OPS_APP, "keyed-default"});
  ASSERT_TRUE(r.Exited(0)) << r.Describe();
  EXPECT_EQ(ParseAppOutput(r.out).Scalar("partitions"), "3") << r.Describe();
  size_t warnings = 0;
  for (size_t at = 0;
       (at = r.err.find("spark.sql.shuffle.partitions=7 is ignored", at)) != std::string::npos;
       ++at) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << r.Describe();
}

// The output directory exists: the job is refused before anything runs,
// and what was there is left exactly as it was.
TEST(SubmitOutputTest, ExistingOutputDirectoryIsRefusedAndLeftAlone) {
  for (const char* master : {"local[1]", "local-cluster[2,1]"}) {
    SCOPED_TRACE(master);
    TempDir dir;
    WriteFileOrDie(dir / "input.txt", "alpha beta\nbeta\n");
    fs::create_directories(dir / "out/sub");
    WriteFileOrDie(dir / "out/precious.txt", "do not lose me\n");
    WriteFileOrDie(dir / "out/sub/part-00000", "old output\n");
    ProcessResult r = Submit(master, EMBER_WORDCOUNT_APP, {dir / "input.txt", dir / "out"});
    EXPECT_NE(r.exit_code, 0) << r.Describe();
    const auto errors = ErrorLines(r.err);
    ASSERT_EQ(errors.size(), 1u) << r.Describe();
    EXPECT_NE(errors[0].find(dir / "out"), std::string::npos) << errors[0];
    EXPECT_NE(errors[0].find("exists"), std::string::npos) << errors[0];
    std::set<std::string> entries;
    for (const auto& e : fs::recursive_directory_iterator(dir / "out")) {
      entries.insert(fs::relative(e.path(), dir / "out").string());
    }
    EXPECT_EQ(entries, (std::set<std::string>{"precious.txt", "sub", "sub/part-00000"}));
    EXPECT_EQ(ReadFileOrEmpty(dir / "out/precious.txt"), "do not lose me\n");
    EXPECT_EQ(ReadFileOrEmpty(dir / "out/sub/part-00000"), "old output\n");
  }
}

}  // namespace
}  // namespace ember::testing
