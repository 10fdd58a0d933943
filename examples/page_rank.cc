// PageRank, as Spark's SparkPageRank example computes it: every page with
// out-links starts at rank 1; each iteration, a page sends rank / out-degree
// along each of its links, and a page's new rank is 0.15 + 0.85 * what it
// received (a page nobody links to drops out, as in Spark's example).
//
//   ember-submit --master local-cluster[2,1] libpagerank.so EDGES ITERATIONS [OUTPUT_DIR]
//
// EDGES: lines "from to" (page ids, integers); lines starting with '#' are
// comments. The links are grouped and partitioned by page once and cached;
// each iteration joins them with the ranks without shuffling them again
// (both sides are partitioned alike), so it shuffles only the contributions.
// Prints each iteration's time and the ten highest ranks; with OUTPUT_DIR,
// writes every "page<TAB>rank".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <ember/ember.h>

namespace {

using Page = int64_t;

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

EMBER_APPLICATION(ctx, args) {
  if (args.size() < 2 || args.size() > 3) {
    std::fprintf(stderr, "usage: pagerank EDGES ITERATIONS [OUTPUT_DIR]\n");
    return 2;
  }
  int iterations = 0;
  try {
    iterations = std::stoi(args[1]);
  } catch (const std::exception&) {
    iterations = -1;
  }
  if (iterations < 1) {
    std::fprintf(stderr, "pagerank: ITERATIONS must be a positive integer, got '%s'\n",
                 args[1].c_str());
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  auto edges = ctx.textFile(args[0])
                   .filter([](const std::string& line) { return !line.empty() && line[0] != '#'; })
                   .map([](const std::string& line) {
                     size_t end = 0;
                     const Page from = std::stoll(line, &end);
                     const Page to = std::stoll(line.substr(end));
                     return std::pair<Page, Page>(from, to);
                   })
                   .distinct();
  const uint32_t partitions = edges.getNumPartitions();
  // Kept on the executors: every iteration joins with them.
  auto links = edges.groupByKey(partitions).cache();
  auto ranks = links.mapValues([](const std::vector<Page>&) { return 1.0; });
  const uint64_t pages = links.count();
  std::printf("pagerank: %llu pages with links, in %u partitions (%.2f s)\n",
              static_cast<unsigned long long>(pages), partitions, Since(start));
  std::fflush(stdout);
  for (int i = 1; i <= iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ranks = links.join(ranks)
                .values()
                .flatMap([](const std::pair<std::vector<Page>, double>& page) {
                  const auto& [targets, rank] = page;
                  std::vector<std::pair<Page, double>> out;
                  out.reserve(targets.size());
                  const double share = rank / static_cast<double>(targets.size());
                  for (Page t : targets) out.emplace_back(t, share);
                  return out;
                })
                .reduceByKey([](double a, double b) { return a + b; }, partitions)
                .mapValues([](double received) { return 0.15 + 0.85 * received; });
    const uint64_t ranked = ranks.count();  // each iteration runs here, reusing the last
    std::printf("iteration %d: %.3f s, %llu pages ranked\n", i, Since(t0),
                static_cast<unsigned long long>(ranked));
    std::fflush(stdout);  // progress, as it happens, also through a pipe
  }
  for (const auto& [page, rank] : ranks.top(10, [](const auto&a, const auto&b) {
         return a.second != b.second ? a.second < b.second : a.first > b.first;
       })) {
    std::printf("%lld\t%.6f\n", static_cast<long long>(page), rank);
  }
  if (args.size() > 2) ranks.saveAsTextFile(args[2]);
  std::printf("pagerank: %d iterations in %.2f s\n", iterations, Since(start));
  return 0;
}
