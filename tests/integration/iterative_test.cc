// The iterative examples, PageRank (examples/page_rank.cc) and KMeans
// (examples/k_means.cc), as real applications in local-cluster[2,1] and
// local[2], against the same algorithms computed here on the same input.
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "external_cluster.h"

namespace ember::testing {
namespace {

namespace fs = std::filesystem;

class IterativeTest : public ::testing::TestWithParam<const char*> {
 protected:
  std::mt19937 gen_{20261206};
  TempDir dir_;
};

// Spark's SparkPageRank recurrence over distinct edges.
std::map<int64_t, double> PageRank(const std::set<std::pair<int64_t, int64_t>>& edges,
                                   int iterations) {
  std::map<int64_t, std::vector<int64_t>> links;
  for (const auto& [from, to] : edges) links[from].push_back(to);
  std::map<int64_t, double> ranks;
  for (const auto& [page, targets] : links) ranks[page] = 1.0;
  for (int i = 0; i < iterations; ++i) {
    std::map<int64_t, double> received;
    for (const auto& [page, targets] : links) {
      auto r = ranks.find(page);
      if (r == ranks.end()) continue;
      for (int64_t t : targets) received[t] += r->second / static_cast<double>(targets.size());
    }
    ranks.clear();
    for (const auto& [page, sum] : received) ranks[page] = 0.15 + 0.85 * sum;
  }
  return ranks;
}

// Reads "page<TAB>rank" part files.
std::map<int64_t, double> ReadRanks(const std::string& dir) {
  std::map<int64_t, double> got;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("part-", 0) != 0) continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      const auto fields = SplitTabs(line);
      if (fields.size() == 2) got.emplace(std::stoll(fields[0]), std::stod(fields[1]));
    }
  }
  return got;
}

TEST_P(IterativeTest, PageRankMatchesTheRecurrence) {
  // 400 pages, preferential targets, duplicate edges and comments mixed in.
  std::set<std::pair<int64_t, int64_t>> edges;
  std::string text = "# from to\n";
  std::uniform_int_distribution<int64_t> page(0, 399);
  std::geometric_distribution<int64_t> popular(0.02);
  for (int i = 0; i < 4000; ++i) {
    const int64_t from = page(gen_), to = popular(gen_) % 400;
    edges.emplace(from, to);
    text += std::to_string(from) + " " + std::to_string(to) + "\n";
    if (i % 500 == 0) text += std::to_string(from) + " " + std::to_string(to) + "\n";
  }
  const std::string input = dir_ / "edges.txt";
  std::ofstream(input, std::ios::binary) << text;
  const std::string out = dir_ / "ranks";
  ProcessResult r = Submit(GetParam(), EMBER_PAGERANK_APP, {input, "6", out});
  ASSERT_TRUE(r.Exited(0)) << r.Describe();
  EXPECT_NE(r.out.find("iteration 6:"), std::string::npos) << r.out;

  const std::map<int64_t, double> want = PageRank(edges, 6);
  std::map<int64_t, double> got = ReadRanks(out);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [p, rank] : want) {
    ASSERT_TRUE(got.count(p)) << "page " << p << " has no rank";
    EXPECT_NEAR(got[p], rank, 1e-9 * rank) << "page " << p;
  }
}

using Point = std::vector<double>;

// Lloyd's algorithm from the first k points; ties go to the lower center.
std::vector<Point> KMeans(const std::vector<Point>& points, size_t k, int iterations) {
  std::vector<Point> centers(points.begin(), points.begin() + static_cast<ptrdiff_t>(k));
  for (int i = 0; i < iterations; ++i) {
    std::vector<Point> sums(k, Point(points[0].size(), 0.0));
    std::vector<int64_t> counts(k, 0);
    for (const Point& p : points) {
      size_t best = 0;
      double best_d = std::numeric_limits<double>::infinity();
      for (size_t c = 0; c < k; ++c) {
        double d = 0;
        for (size_t j = 0; j < p.size(); ++j) d += (p[j] - centers[c][j]) * (p[j] - centers[c][j]);
        if (d < best_d) {
          best_d = d;
          best = c;
        }
      }
      for (size_t j = 0; j < p.size(); ++j) sums[best][j] += p[j];
      ++counts[best];
    }
    for (size_t c = 0; c < k; ++c) {
      if (counts[c] == 0) continue;
      for (size_t j = 0; j < sums[c].size(); ++j) sums[c][j] /= static_cast<double>(counts[c]);
      centers[c] = sums[c];
    }
  }
  return centers;
}

// 3,000 points around five centers in `dims` dimensions (2 and 3 run on
// fixed-size points, others on vectors), against Lloyd's algorithm here.
void CheckKMeans(const std::string& master, const std::string& dir, std::mt19937& gen,
                 size_t dims) {
  std::vector<Point> points;
  std::normal_distribution<double> noise(0, 1.5);
  std::uniform_int_distribution<int> which(0, 4);
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    const int c = which(gen);
    Point p;
    for (size_t j = 0; j < dims; ++j) {
      const double centre = j % 3 == 0 ? c * 10.0 : j % 3 == 1 ? (c % 2) * 7.0 : -c * 3.0;
      p.push_back(centre + noise(gen));
    }
    for (size_t j = 0; j < dims; ++j) {
      char x[40];
      std::snprintf(x, sizeof(x), "%.17g", p[j]);
      text += x;
      text += j + 1 == dims ? "\n" : j % 2 == 0 ? " " : "\t";
    }
    points.push_back(p);
  }
  const std::string input = dir + "/points-" + std::to_string(dims) + ".txt";
  std::ofstream(input, std::ios::binary) << text;
  ProcessResult r = Submit(master, EMBER_KMEANS_APP, {input, "5", "8"});
  ASSERT_TRUE(r.Exited(0)) << r.Describe();
  EXPECT_NE(r.out.find("iteration 8:"), std::string::npos) << r.out;
  std::vector<Point> got;
  for (const std::string& line : SplitLines(r.out)) {
    if (line.rfind("center ", 0) != 0) continue;
    std::istringstream in(line.substr(7));
    Point c;
    for (double x; in >> x;) c.push_back(x);
    got.push_back(c);
  }
  const std::vector<Point> want = KMeans(points, 5, 8);
  ASSERT_EQ(got.size(), want.size()) << r.out;
  for (size_t c = 0; c < want.size(); ++c) {
    ASSERT_EQ(got[c].size(), dims);
    for (size_t j = 0; j < dims; ++j) {
      EXPECT_NEAR(got[c][j], want[c][j], 1e-9 * (1 + std::fabs(want[c][j])))
          << dims << "-D, center " << c << " coordinate " << j;
    }
  }
}

TEST_P(IterativeTest, KMeansMatchesLloyd) {
  for (size_t dims : {2, 3, 5}) {
    ASSERT_NO_FATAL_FAILURE(CheckKMeans(GetParam(), dir_.path(), gen_, dims));
  }
}

TEST(IterativeFaultTest, PageRankSurvivesAnExecutorKilledMidIteration) {
  // Enough iterations that the kill lands among them; the killed executor
  // held cached links and map outputs, which are computed again.
  TempDir dir;
  std::mt19937 gen(7);
  std::set<std::pair<int64_t, int64_t>> edges;
  std::string text;
  // Some megabytes of edges: several partitions, iterations of a fraction
  // of a second.
  std::uniform_int_distribution<int64_t> page(0, 99999);
  for (int i = 0; i < 600000; ++i) {
    const int64_t from = page(gen), to = page(gen) % 60000;
    edges.emplace(from, to);
    text += std::to_string(from) + " " + std::to_string(to) + "\n";
  }
  const std::string input = dir / "edges.txt", out = dir / "ranks";
  std::ofstream(input, std::ios::binary) << text;
  ExternalCluster cluster("it-pagerank-kill", 2, {}, {input, "10", out}, EMBER_PAGERANK_APP);
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  cluster.StartExecutor(*port, "1");
  Process& victim = cluster.StartExecutor(*port, "2");
  ASSERT_TRUE(WaitUntil([&] {
    return cluster.driver().Stdout().find("iteration 2:") != std::string::npos ||
           !cluster.driver().running();
  }));
  ASSERT_TRUE(cluster.driver().running())
      << "the job ended before the executor could be killed\n"
      << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  ASSERT_EQ(::kill(victim.pid(), SIGKILL), 0);
  ProcessResult driver = cluster.driver().Wait();
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  EXPECT_NE(driver.err.find("executor 2 lost"), std::string::npos) << driver.err;
  const std::map<int64_t, double> want = PageRank(edges, 10), got = ReadRanks(out);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [p, rank] : want) {
    ASSERT_TRUE(got.count(p)) << "page " << p;
    EXPECT_NEAR(got.at(p), rank, 1e-9 * rank) << "page " << p;
  }
}

TEST_P(IterativeTest, BadInputIsNamed) {
  // Points of different dimensions: the job fails saying so.
  const std::string input = dir_ / "ragged.txt";
  std::ofstream(input) << "1 2\n3 4\n5 6 7\n8 9\n";
  ProcessResult r = Submit(GetParam(), EMBER_KMEANS_APP, {input, "2", "2"});
  EXPECT_FALSE(r.Exited(0));
  EXPECT_NE(r.err.find("a point of 3 coordinates among points of 2"), std::string::npos) << r.err;
  // A coordinate that is not a number: named with its line.
  const std::string garbled = dir_ / "garbled.txt";
  std::ofstream(garbled) << "1 2\n3 four\n5 6\n";
  ProcessResult g = Submit(GetParam(), EMBER_KMEANS_APP, {garbled, "2", "2"});
  EXPECT_FALSE(g.Exited(0));
  EXPECT_NE(g.err.find("not a number in the line '3 four'"), std::string::npos) << g.err;
  ProcessResult k = Submit(GetParam(), EMBER_KMEANS_APP, {input, "0", "2"});
  EXPECT_EQ(k.exit_code, 2);
  EXPECT_NE(k.err.find("K and ITERATIONS must be positive integers"), std::string::npos) << k.err;
  ProcessResult it = Submit(GetParam(), EMBER_PAGERANK_APP, {input, "x"});
  EXPECT_EQ(it.exit_code, 2);
  EXPECT_NE(it.err.find("ITERATIONS must be a positive integer"), std::string::npos) << it.err;
}

INSTANTIATE_TEST_SUITE_P(Masters, IterativeTest,
                         ::testing::Values("local-cluster[2,1]", "local[2]"), [](const auto& info) {
                           return std::string(info.param).find("cluster") != std::string::npos
                                      ? "LocalCluster"
                                      : "Local";
                         });

}  // namespace
}  // namespace ember::testing
