// The by-key aggregations, joins, sorts, and the newer actions and narrow
// transformations, through ember-submit running tests/integration/apps/
// keyed_app.cc as a real process, in local[2] and local-cluster[2,1]. Every
// expectation is computed here from the generated input, independently of
// the engine.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine_test_util.h"

namespace ember::testing {
namespace {

namespace fs = std::filesystem;

using Records = std::vector<std::vector<std::string>>;

// A prefix and a number; by append, as GCC 12 reports a false -Wrestrict
// for "literal" + std::string temporaries (GCC PR 105329).
std::string Tag(const char* prefix, int64_t n) {
  return std::string(prefix).append(std::to_string(n));
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class KeyedTest : public ::testing::TestWithParam<const char*> {
 protected:
  void Run(const std::vector<std::string>& args, AppOutput* out,
           const std::vector<std::string>& flags = {}) {
    ProcessResult r = Submit(GetParam(), EMBER_KEYED_APP, args, flags);
    ASSERT_TRUE(r.Exited(0)) << r.Describe();
    *out = ParseAppOutput(r.out);
  }

  // The records of one kind, without the kind field, in output order.
  static Records Of(const AppOutput& out, const std::string& kind) {
    Records rs;
    for (const auto& r : out.records) {
      if (!r.empty() && r[0] == kind) rs.emplace_back(r.begin() + 1, r.end());
    }
    return rs;
  }

  std::string Key(int n) { return Tag("k", n); }

  std::string WriteLines(const std::string& name, const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    const std::string path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Lines spread over `files` files of a new directory, in name order.
  std::string WriteDir(const std::string& name, const std::vector<std::string>& lines, int files) {
    const std::string dir = dir_ / name;
    fs::create_directories(dir);
    for (int f = 0; f < files; ++f) {
      std::string text;
      for (size_t i = lines.size() * f / files; i < lines.size() * (f + 1) / files; ++i) {
        text += lines[i] + "\n";
      }
      std::ofstream(dir + "/part-" + std::to_string(f), std::ios::binary) << text;
    }
    return dir;
  }

  std::mt19937 gen_{20261206};
  TempDir dir_;
};

std::vector<std::string> Words(std::mt19937& gen, int n, int distinct) {
  std::uniform_int_distribution<int> pick(0, distinct - 1);
  std::uniform_int_distribution<int> len(1, 9);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    const int w = pick(gen);
    out.push_back(Tag("w", w) + std::string(static_cast<size_t>(w % 7), 'x') +
                  std::to_string(len(gen)));
  }
  return out;
}

// ------------------------------------------------------------------ joins --

struct JoinInput {
  std::multimap<std::string, std::string> left, right;
};

Records Expected(const std::string& kind, const std::map<std::string, std::vector<std::string>>& l,
                 const std::map<std::string, std::vector<std::string>>& r) {
  Records out;
  std::set<std::string> keys;
  for (const auto& [k, v] : l) keys.insert(k);
  for (const auto& [k, v] : r) keys.insert(k);
  for (const std::string& k : keys) {
    const auto li = l.find(k);
    const auto ri = r.find(k);
    const bool in_l = li != l.end(), in_r = ri != r.end();
    if (in_l && in_r) {
      for (const auto& v : li->second) {
        for (const auto& w : ri->second) out.push_back({k, v, w});
      }
    } else if (in_l && (kind == "left" || kind == "full")) {
      for (const auto& v : li->second) out.push_back({k, v, "-"});
    } else if (in_r && (kind == "right" || kind == "full")) {
      for (const auto& w : ri->second) out.push_back({k, "-", w});
    }
  }
  return Sorted(out);
}

void CheckJoins(const AppOutput& out, const std::map<std::string, std::vector<std::string>>& l,
                const std::map<std::string, std::vector<std::string>>& r) {
  for (const char* kind : {"inner", "left", "right", "full"}) {
    Records got;
    for (const auto& rec : out.records) {
      if (rec[0] == kind) got.emplace_back(rec.begin() + 1, rec.end());
    }
    EXPECT_EQ(Sorted(got), Expected(kind, l, r)) << kind << " join";
  }
  Records cogroup;
  for (const auto& rec : out.records) {
    if (rec[0] == "cogroup") cogroup.emplace_back(rec.begin() + 1, rec.end());
  }
  Records want;
  std::set<std::string> keys;
  for (const auto& [k, v] : l) keys.insert(k);
  for (const auto& [k, v] : r) keys.insert(k);
  auto joined = [](const std::map<std::string, std::vector<std::string>>& m, const std::string& k) {
    auto it = m.find(k);
    if (it == m.end()) return std::string();
    std::string s;
    for (const auto& v : Sorted(it->second)) s += (s.empty() ? "" : ",") + v;
    return s;
  };
  for (const auto& k : keys) want.push_back({k, joined(l, k), joined(r, k)});
  EXPECT_EQ(Sorted(cogroup), want) << "cogroup";
}

TEST_P(KeyedTest, JoinsAndCogroupMatchAnIndependentJoin) {
  // Keys 0..249 on the left, 150..399 on the right: both one-sided and
  // shared keys, several values each, an empty value among them.
  std::vector<std::string> left, right;
  std::map<std::string, std::vector<std::string>> l, r;
  std::uniform_int_distribution<int> lk(0, 249), rk(150, 399), val(0, 99);
  for (int i = 0; i < 1500; ++i) {
    const std::string k = Key(lk(gen_));
    const std::string v = i % 97 == 0 ? "" : Tag("v", val(gen_));
    left.push_back(k + " " + v);
    l[k].push_back(v);
  }
  for (int i = 0; i < 800; ++i) {
    const std::string k = Key(rk(gen_));
    const std::string w = Tag("w", val(gen_));
    right.push_back(k + " " + w);
    r[k].push_back(w);
  }
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(
      Run({"join", WriteLines("left.txt", left), WriteLines("right.txt", right), "5"}, &out));
  EXPECT_EQ(out.Scalar("cogroup_partitions"), "5");
  CheckJoins(out, l, r);
}

TEST_P(KeyedTest, JoinsOfSidesAlreadyPartitionedByKeyAreExact) {
  // The app reduces the left side to the greatest value per key and
  // partitions the right by key, both into 4: the joins read them narrowly.
  std::vector<std::string> left, right;
  std::map<std::string, std::vector<std::string>> l, r;
  std::uniform_int_distribution<int> key(0, 199), val(0, 999);
  std::map<std::string, std::string> greatest;
  for (int i = 0; i < 2000; ++i) {
    const std::string k = Key(key(gen_));
    const std::string v = Tag("v", val(gen_));
    left.push_back(k + " " + v);
    greatest[k] = std::max(greatest[k], v);
  }
  for (const auto& [k, v] : greatest) l[k] = {v};
  for (int i = 0; i < 600; ++i) {
    const std::string k = Key(key(gen_) + 100);
    const std::string w = Tag("w", val(gen_));
    right.push_back(k + " " + w);
    r[k].push_back(w);
  }
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run(
      {"copartitioned", WriteLines("left.txt", left), WriteLines("right.txt", right), "4"}, &out));
  EXPECT_EQ(out.Scalar("cogroup_partitions"), "4");
  CheckJoins(out, l, r);
}

// ----------------------------------------------------------- aggregation --

TEST_P(KeyedTest, AggregationsMatchIndependentFolds) {
  std::vector<std::string> lines;
  std::map<std::string, std::vector<int64_t>> values;
  std::uniform_int_distribution<int> key(0, 299);
  std::uniform_int_distribution<int64_t> num(-1000, 1000);
  for (int i = 0; i < 5000; ++i) {
    const std::string k = Key(key(gen_));
    const int64_t v = num(gen_);
    lines.push_back(k + " " + std::to_string(v));
    values[k].push_back(v);
  }
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"aggregate", WriteLines("numbers.txt", lines)}, &out));
  Records sumcount, distinct, max, twice;
  int64_t total = 0;
  for (const auto& [k, vs] : values) {
    int64_t sum = 0;
    for (int64_t v : vs) sum += v;
    total += sum;
    sumcount.push_back({k, std::to_string(sum), std::to_string(vs.size())});
    distinct.push_back({k, std::to_string(std::set<int64_t>(vs.begin(), vs.end()).size())});
    max.push_back({k, std::to_string(*std::max_element(vs.begin(), vs.end()))});
    twice.push_back({k, std::to_string(2 * sum)});
  }
  EXPECT_EQ(Sorted(Of(out, "sumcount")), sumcount);
  EXPECT_EQ(Sorted(Of(out, "distinct")), distinct);
  EXPECT_EQ(Sorted(Of(out, "max")), max);
  EXPECT_EQ(Sorted(Of(out, "double")), twice);
  EXPECT_EQ(out.Scalar("aggregate"), std::to_string(lines.size()));
  EXPECT_EQ(out.Scalar("fold"), std::to_string(total));
}

// A groupByKey, a reduceByKey and a join whose data is mostly one key, in a
// memory budget of 1 MiB per executor: they spill, and their answers are
// still those of an independent computation.
TEST_P(KeyedTest, SkewedAggregationsAndJoinsSpillPastTheBudgetAndStayExact) {
  std::vector<std::string> left_lines, right_lines;
  std::map<std::string, std::vector<int64_t>> left, right;
  std::uniform_int_distribution<int> key(0, 2999);
  std::uniform_int_distribution<int64_t> num(-50, 50);
  std::uniform_int_distribution<int> hot(0, 9);
  for (int i = 0; i < 200000; ++i) {
    const std::string k = hot(gen_) < 6 ? std::string("hot") : Key(key(gen_));
    const int64_t v = num(gen_);
    left_lines.push_back(k + " " + std::to_string(v));
    left[k].push_back(v);
  }
  for (int i = 0; i < 3000; i += 2) {
    const int64_t w = num(gen_);
    right_lines.push_back(Key(i) + " " + std::to_string(w));
    right[Key(i)].push_back(w);
  }
  for (int64_t w : {3, -2, 7}) {
    right_lines.push_back("hot " + std::to_string(w));
    right["hot"].push_back(w);
  }
  ProcessResult r = Submit(
      GetParam(), EMBER_KEYED_APP,
      {"skew", WriteLines("left.txt", left_lines), WriteLines("right.txt", right_lines), "3"},
      {"--conf", "ember.memory.budget=1m", "--log-level", "info"});
  ASSERT_TRUE(r.Exited(0)) << r.Describe();
  EXPECT_NE(r.err.find("bytes to disk in"), std::string::npos)
      << "nothing spilled in a 1 MiB budget:\n"
      << r.err;
  const AppOutput out = ParseAppOutput(r.out);
  Records group, sum, join;
  for (const auto& [k, vs] : left) {
    int64_t s = 0;
    for (int64_t v : vs) s += v;
    group.push_back({k, std::to_string(vs.size()), std::to_string(s)});
    sum.push_back({k, std::to_string(s)});
    const auto ws = right.find(k);
    if (ws == right.end()) continue;
    int64_t products = 0;
    for (int64_t v : vs) {
      for (int64_t w : ws->second) products += v * w;
    }
    join.push_back({k, std::to_string(vs.size() * ws->second.size()), std::to_string(products)});
  }
  EXPECT_EQ(Sorted(Of(out, "group")), Sorted(group));
  EXPECT_EQ(Sorted(Of(out, "sum")), Sorted(sum));
  EXPECT_EQ(Sorted(Of(out, "join")), Sorted(join));
}

// ------------------------------------------------------------------ sorts --

bool ByLengthThenText(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

TEST_P(KeyedTest, SortsAreTotalAndKeepEveryRecord) {
  // Many keys, some repeated many times (a skewed key among them).
  std::vector<std::string> keys = Words(gen_, 3000, 900);
  for (int i = 0; i < 400; ++i) keys.push_back("hot");
  std::vector<std::string> lines;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::uniform_int_distribution<int> val(0, 9999);
  for (const auto& k : keys) {
    const std::string v = Tag("v", val(gen_));
    lines.push_back(k + " " + v);
    pairs.emplace_back(k, v);
  }
  std::shuffle(lines.begin(), lines.end(), gen_);
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"sort", WriteLines("pairs.txt", lines), "6"}, &out));
  const int parts = std::stoi(out.Scalar("asc_partitions"));
  EXPECT_GE(parts, 2);
  EXPECT_LE(parts, 6);

  auto as_pairs = [](const Records& rs) {
    std::vector<std::pair<std::string, std::string>> ps;
    for (const auto& r : rs) ps.emplace_back(r.at(0), r.at(1));
    return ps;
  };
  const auto all = Sorted(pairs);
  for (const char* kind : {"asc", "desc", "bylength", "byvalue"}) {
    const auto got = as_pairs(Of(out, kind));
    EXPECT_EQ(Sorted(got), all) << kind << ": not the same records";
    for (size_t i = 1; i < got.size(); ++i) {
      const auto& a = got[i - 1];
      const auto& b = got[i];
      const std::string what = std::string(kind) + " out of order at " + std::to_string(i) + ": " +
                               a.first + " " + a.second + " then " + b.first + " " + b.second;
      const std::string k = kind;
      const bool in_order = k == "asc"        ? a.first <= b.first
                            : k == "desc"     ? a.first >= b.first
                            : k == "bylength" ? !ByLengthThenText(b.first, a.first)
                                              : a.second <= b.second;
      ASSERT_TRUE(in_order) << what;
    }
  }
  // Within partitions: each sorted, each key in one partition only.
  std::map<std::string, std::set<std::string>> partitions_of;
  std::vector<std::pair<std::string, std::string>> within;
  std::map<std::string, std::string> last_in;
  for (const auto& r : Of(out, "within")) {
    partitions_of[r.at(1)].insert(r.at(0));
    within.emplace_back(r.at(1), r.at(2));
    auto it = last_in.find(r.at(0));
    if (it != last_in.end()) {
      ASSERT_LE(it->second, r.at(1)) << "partition " << r.at(0);
    }
    last_in[r.at(0)] = r.at(1);
  }
  EXPECT_EQ(Sorted(within), all);
  for (const auto& [k, ps] : partitions_of) EXPECT_EQ(ps.size(), 1u) << k << " in several";
  // Numeric keys sort as numbers.
  std::vector<int64_t> numeric;
  for (const auto& r : Of(out, "numeric")) numeric.push_back(std::stoll(r.at(0)));
  EXPECT_EQ(numeric.size(), pairs.size());
  EXPECT_TRUE(std::is_sorted(numeric.begin(), numeric.end()));
}

// ---------------------------------------------------------------- actions --

TEST_P(KeyedTest, OrderedActionsCountsAndForeach) {
  std::vector<std::string> lines = Words(gen_, 2000, 500);
  const std::string input = WriteDir("lines", lines, 4);
  const std::string effects = dir_ / "effects";
  fs::create_directories(effects);
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"actions", input, effects}, &out));
  EXPECT_EQ(out.Scalar("first"), lines.front());
  std::vector<std::string> asc = Sorted(lines);
  std::vector<std::string> desc(asc.rbegin(), asc.rend());
  auto singles = [&](const char* kind) {
    std::vector<std::string> s;
    for (const auto& r : Of(out, kind)) s.push_back(r.at(0));
    return s;
  };
  EXPECT_EQ(singles("top"), std::vector<std::string>(desc.begin(), desc.begin() + 7));
  EXPECT_EQ(singles("takeordered"), std::vector<std::string>(asc.begin(), asc.begin() + 7));
  std::vector<std::string> by_length = lines;
  std::sort(by_length.begin(), by_length.end(), ByLengthThenText);
  EXPECT_EQ(singles("shortest"),
            std::vector<std::string>(by_length.begin(), by_length.begin() + 5));
  std::map<std::string, int> counts;
  for (const auto& l : lines) ++counts[l];
  Records want_counts;
  for (const auto& [w, n] : counts) want_counts.push_back({w, std::to_string(n)});
  EXPECT_EQ(Sorted(Of(out, "countbyvalue")), want_counts);
  // foreach saw every record once; foreachPartition every partition once.
  std::vector<std::string> seen;
  int64_t partition_total = 0, partitions = 0;
  for (const auto& entry : fs::directory_iterator(effects)) {
    const std::string name = entry.path().filename();
    for (const auto& line : SplitLines(ReadAll(entry.path()))) {
      if (name.rfind("foreach-", 0) == 0) seen.push_back(line);
      if (name.rfind("partition-", 0) == 0) {
        partition_total += std::stoll(line);
        ++partitions;
      }
    }
  }
  EXPECT_EQ(Sorted(seen), asc);
  EXPECT_EQ(partition_total, static_cast<int64_t>(lines.size()));
  EXPECT_EQ(partitions, 4);
  EXPECT_NE(out.Scalar("empty_first").find("first of an empty RDD"), std::string::npos)
      << out.Scalar("empty_first");
}

TEST_P(KeyedTest, IndexesCoalesceSampleAndValueHelpers) {
  std::vector<std::string> lines = Words(gen_, 1000, 300);
  const std::string input = WriteDir("lines", lines, 5);
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"narrow", input}, &out));
  ASSERT_EQ(out.Scalar("partitions"), "5");
  // zipWithIndex: 0, 1, ... in file order.
  Records want_index;
  for (size_t i = 0; i < lines.size(); ++i) want_index.push_back({std::to_string(i), lines[i]});
  EXPECT_EQ(Of(out, "index"), want_index);
  // zipWithUniqueId: the i-th line of file f (partition f) gets i * 5 + f.
  Records want_ids;
  for (int f = 0; f < 5; ++f) {
    const size_t first = lines.size() * f / 5, last = lines.size() * (f + 1) / 5;
    for (size_t i = first; i < last; ++i) {
      want_ids.push_back({std::to_string((i - first) * 5 + f), lines[i]});
    }
  }
  EXPECT_EQ(Of(out, "uniqueid"), want_ids);
  // coalesce: fewer partitions, the same records in the same order.
  EXPECT_EQ(out.Scalar("coalesced_partitions"), "2");
  std::vector<std::string> coalesced;
  for (const auto& r : Of(out, "coalesced")) coalesced.push_back(r.at(0));
  EXPECT_EQ(coalesced, lines);
  // sample: repeatable, a sub-multiset, about the fraction asked.
  EXPECT_EQ(out.Scalar("sample_repeatable"), "yes");
  std::multiset<std::string> pool(lines.begin(), lines.end());
  size_t sampled = 0;
  for (const auto& r : Of(out, "sample")) {
    auto it = pool.find(r.at(0));
    ASSERT_NE(it, pool.end()) << r.at(0) << " sampled more often than it occurs";
    pool.erase(it);
    ++sampled;
  }
  EXPECT_GT(sampled, 200u);
  EXPECT_LT(sampled, 400u);
  const int64_t with_replacement = std::stoll(out.Scalar("sample_with_replacement"));
  EXPECT_GT(with_replacement, 1700);
  EXPECT_LT(with_replacement, 2300);
  std::vector<std::string> keys, flat;
  for (const auto& r : Of(out, "keys")) keys.push_back(r.at(0));
  for (const auto& r : Of(out, "flatvalues")) flat.push_back(r.at(0));
  std::vector<std::string> want_keys, want_flat;
  for (const auto& l : lines) {
    want_keys.push_back(l.substr(0, 3));
    want_flat.push_back(l);
    want_flat.push_back(l + "!");
  }
  EXPECT_EQ(keys, want_keys);
  EXPECT_EQ(flat, want_flat);
}

TEST_P(KeyedTest, WholeFilesAndLinesWithTheirFile) {
  const std::string input = dir_ / "files";
  fs::create_directories(input);
  std::map<std::string, std::string> contents;
  std::uniform_int_distribution<int> lines_per(0, 40);
  for (int f = 0; f < 7; ++f) {
    std::string text;
    const int n = lines_per(gen_);
    for (const auto& w : Words(gen_, n, 50)) text += w + "\n";
    if (f == 3) text += "no final newline";
    const std::string path = fs::absolute(input + "/f" + std::to_string(f) + ".txt");
    std::ofstream(path, std::ios::binary) << text;
    contents[path] = text;
  }
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(Run({"files", input}, &out));
  Records whole, lines;
  for (const auto& [path, text] : contents) {
    whole.push_back(
        {path, std::to_string(text.size()), std::to_string(std::hash<std::string>{}(text))});
    const auto n = SplitLines(text).size();
    if (n > 0) lines.push_back({path, std::to_string(n)});
  }
  EXPECT_EQ(Sorted(Of(out, "whole")), whole);
  EXPECT_EQ(Sorted(Of(out, "lines")), lines);
}

TEST_P(KeyedTest, AccumulatorsCountEachSuccessfulTaskOnce) {
  const std::string markers = dir_ / "markers";
  fs::create_directories(markers);
  const int64_t n = 10000;
  AppOutput out;
  // local[N] retries nothing by default, as in Spark.
  ASSERT_NO_FATAL_FAILURE(Run({"accumulators", markers, std::to_string(n)}, &out,
                              {"--conf", "ember.task.maxFailures=2"}));
  // Each of the 4 partitions failed once (its marker is there) and its
  // first attempt's additions were dropped.
  EXPECT_EQ(std::distance(fs::directory_iterator(markers), fs::directory_iterator()), 4);
  EXPECT_EQ(out.Scalar("count"), std::to_string(n));
  int64_t sevens = 0, sum = 0;
  for (int64_t v = 0; v < n; ++v) {
    sevens += v % 7 == 0 ? 1 : 0;
    sum += v;
  }
  EXPECT_EQ(out.Scalar("sevens"), std::to_string(sevens));
  EXPECT_EQ(std::stod(out.Scalar("quarters")), 0.5 + 0.25 * static_cast<double>(n));
  EXPECT_EQ(out.Scalar("seen"), std::to_string(n));
  EXPECT_EQ(out.Scalar("keys"), "5");
  // Added on the map side of a shuffle, from an initial value of 100.
  EXPECT_EQ(out.Scalar("mapped"), std::to_string(100 + sum));
}

// The pids of the processes that left "compute" markers, one per marker.
std::vector<int> ComputedBy(const std::string& markers) {
  std::vector<int> pids;
  for (const auto& e : fs::directory_iterator(markers)) {
    const std::string name = e.path().filename();
    if (name.rfind("compute-", 0) == 0) pids.push_back(std::stoi(name.substr(8)));
  }
  return pids;
}

// Runs the cache scenario; `between` runs once the app has used its cached
// RDD twice and waits (before it reads it a third time).
void RunCache(const std::string& master, const std::string& level, const TempDir& dir,
              const std::function<void(const std::vector<int>&)>& between, AppOutput* out,
              int64_t records = 20000, const std::vector<std::string>& flags = {}) {
  const std::string markers = dir / ("markers-" + level), go = dir / ("go-" + level);
  fs::create_directories(markers);
  std::vector<std::string> argv = {Bin("ember-submit"), "--master", master, "--no-progress"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  for (std::string a : {std::string(EMBER_KEYED_APP), std::string("cache"), markers, level, go,
                        std::to_string(records)}) {
    argv.push_back(std::move(a));
  }
  Process app(std::move(argv));
  ASSERT_TRUE(WaitUntil([&] { return app.Stdout().find("N\tready\tyes") != std::string::npos; },
                        std::chrono::seconds(60)))
      << app.Stdout() << app.Stderr();
  // Three jobs so far, each partition computed once.
  const std::vector<int> first = ComputedBy(markers);
  EXPECT_EQ(first.size(), 4u) << "the persisted partitions were computed more than once";
  between(first);
  std::ofstream(go) << "go";
  ProcessResult r = app.Wait(std::chrono::seconds(120));
  ASSERT_TRUE(r.Exited(0)) << r.Describe();
  *out = ParseAppOutput(r.out);
  int64_t sum = 0, evens = 0;
  for (int64_t v = 0; v < records; ++v) {
    sum += 3 * v;
    evens += (3 * v) % 2 == 0 ? 1 : 0;
  }
  EXPECT_EQ(out->Scalar("count1"), std::to_string(records));
  EXPECT_EQ(out->Scalar("sum1"), std::to_string(sum));
  EXPECT_EQ(out->Scalar("evens1"), std::to_string(evens));
  EXPECT_EQ(out->Scalar("sum2"), std::to_string(sum));
  EXPECT_EQ(out->Scalar("sum3"), std::to_string(sum));
}

TEST_P(KeyedTest, PersistedPartitionsAreComputedOnceAndAgainAfterUnpersist) {
  for (const char* level : {"memory", "disk"}) {
    AppOutput out;
    ASSERT_NO_FATAL_FAILURE(RunCache(
        GetParam(), level, dir_, [](const std::vector<int>&) {}, &out));
    // After unpersist the last job computed all 4 again.
    EXPECT_EQ(ComputedBy(dir_ / (std::string("markers-") + level)).size(), 8u) << level;
  }
}

// Cached blocks take at most half of a 1 MiB budget: partitions of about
// 1 MB each go to disk at MEMORY_AND_DISK and are still computed once.
TEST_P(KeyedTest, MemoryAndDiskBlocksBeyondTheBudgetGoToDisk) {
  AppOutput out;
  ASSERT_NO_FATAL_FAILURE(RunCache(GetParam(), "memory_and_disk", dir_,
                                   [](const std::vector<int>&) {}, &out, 1000000,
                                   {"--conf", "ember.memory.budget=1m"}));
  EXPECT_EQ(ComputedBy(dir_ / "markers-memory_and_disk").size(), 8u);
}

TEST(KeyedCacheTest, PartitionsOfAKilledExecutorAreRecomputedFromLineage) {
  TempDir dir;
  AppOutput out;
  int victim = 0;
  size_t lost = 0;
  ASSERT_NO_FATAL_FAILURE(RunCache(
      "local-cluster[2,1]", "memory", dir,
      [&](const std::vector<int>& pids) {
        victim = pids.front();
        lost = static_cast<size_t>(std::count(pids.begin(), pids.end(), victim));
        ASSERT_EQ(::kill(victim, SIGKILL), 0) << "executor " << victim;
      },
      &out));
  // The killed executor's partitions once more after the kill, then all 4
  // after unpersist; the others' not again before that.
  const std::vector<int> all = ComputedBy(dir / "markers-memory");
  EXPECT_EQ(all.size(), 4 + lost + 4) << "victim " << victim << " held " << lost;
  EXPECT_EQ(std::count(all.begin(), all.end(), victim), static_cast<long>(lost));
}

TEST_P(KeyedTest, BadArgumentsFailBeforeAnyJobWithTheirReason) {
  for (const auto& [which, message] : std::vector<std::pair<std::string, std::string>>{
           {"sample", "sample: fraction must be in [0, 1] without replacement"},
           {"coalesce", "coalesce: the number of partitions must be > 0"},
           {"partitionBy", "partitionBy: the number of partitions must be > 0"},
           {"sort", "repartitionAndSortWithinPartitions: the number of partitions must be > 0"}}) {
    ProcessResult r = Submit(GetParam(), EMBER_KEYED_APP, {"bad", which});
    EXPECT_FALSE(r.Exited(0)) << which;
    const auto errors = ErrorLines(r.err);
    ASSERT_EQ(errors.size(), 1u) << which << ": " << r.Describe();
    EXPECT_NE(errors[0].find(message), std::string::npos) << errors[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Masters, KeyedTest, ::testing::Values("local-cluster[2,1]", "local[2]"),
                         [](const auto& info) {
                           return std::string(info.param).find("cluster") != std::string::npos
                                      ? "LocalCluster"
                                      : "Local";
                         });

}  // namespace
}  // namespace ember::testing
