// An application for the integration tests of the by-key operations,
// joins, sorts and the newer actions and transformations: its first
// argument selects a scenario, the rest are its inputs.
//
// Output, as ops_app's, is one fact per line:
//   R<TAB>kind<TAB>field...   a result record of one operation
//   N<TAB>name<TAB>value      a named scalar
// The test computes every expectation from the same inputs on its own.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <ember/ember.h>

#include "test_app.h"

namespace {

using Pair = std::pair<std::string, std::string>;
using Num = std::pair<std::string, int64_t>;

void Print(const std::vector<std::string>& fields) {
  std::string line = "R";
  for (const auto& f : fields) line += "\t" + f;
  std::printf("%s\n", line.c_str());
}
void PrintScalar(const std::string& name, const std::string& value) {
  std::printf("N\t%s\t%s\n", name.c_str(), value.c_str());
}

std::string Joined(const std::vector<std::string>& values) {
  std::multiset<std::string> all(values.begin(), values.end());
  std::string out;
  for (const auto& v : all) out += (out.empty() ? "" : ",") + v;
  return out;
}

std::string Opt(const std::optional<std::string>& v) {
  return v ? *v : "-";
}

// "key value" lines.
ember::RDD<Pair> Pairs(ember::Context& ctx, const std::string& path, uint32_t partitions) {
  return ctx.textFile(path, partitions).map([](const std::string& line) {
    const size_t sp = line.find(' ');
    return sp == std::string::npos ? Pair(line, "") : Pair(line.substr(0, sp), line.substr(sp + 1));
  });
}

// "key number" lines.
ember::RDD<Num> Numbers(ember::Context& ctx, const std::string& path) {
  return Pairs(ctx, path, 3).mapValues([](const std::string& v) {
    return static_cast<int64_t>(std::stoll(v));
  });
}

// Appends `line` to a file of this process in `dir` (foreach's effect).
void AppendTo(const std::string& dir, const std::string& tag, const std::string& line) {
  const std::string path = dir + "/" + tag + "-" + std::to_string(::getpid());
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << line << "\n";
  if (!out) throw std::runtime_error("cannot append to " + path);
}

struct ByLengthThenText {
  bool operator()(const std::string& a, const std::string& b) const {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  }
};

int Usage() {
  std::fprintf(stderr,
               "usage: keyed_app SCENARIO ARGS...\n"
               "  join LEFT RIGHT PARTITIONS | copartitioned LEFT RIGHT PARTITIONS\n"
               "  skew LEFT RIGHT PARTITIONS\n"
               "  aggregate NUMBERS | sort PAIRS PARTITIONS | actions LINES DIR\n"
               "  narrow LINES | files DIR | accumulators DIR N\n"
               "  cache MARKERS memory|disk|memory_and_disk GO_FILE [RECORDS] | bad "
               "sample|coalesce|partitionBy|sort\n");
  return 2;
}

}  // namespace

EMBER_APPLICATION(ctx, args) {
  if (args.empty()) return Usage();
  const std::string& scenario = args[0];
  auto arg = [&](size_t i) -> const std::string& { return test_apps::ArgAt(args, i); };

  if (scenario == "join" || scenario == "copartitioned") {
    const auto parts = static_cast<uint32_t>(std::stoul(arg(3)));
    auto left = Pairs(ctx, arg(1), 3);
    auto right = Pairs(ctx, arg(2), 2);
    if (scenario == "copartitioned") {
      // Both sides partitioned by key into PARTITIONS: the joins read them
      // without another shuffle.
      left = left.reduceByKey([](std::string a, std::string b) { return std::max(a, b); }, parts);
      right = right.partitionBy(parts);
    }
    for (const auto& [k, vw] : left.join(right, parts).collect()) {
      Print({"inner", k, vw.first, vw.second});
    }
    for (const auto& [k, vw] : left.leftOuterJoin(right, parts).collect()) {
      Print({"left", k, vw.first, Opt(vw.second)});
    }
    for (const auto& [k, vw] : left.rightOuterJoin(right, parts).collect()) {
      Print({"right", k, Opt(vw.first), vw.second});
    }
    for (const auto& [k, vw] : left.fullOuterJoin(right, parts).collect()) {
      Print({"full", k, Opt(vw.first), Opt(vw.second)});
    }
    auto grouped = left.cogroup(right, parts);
    PrintScalar("cogroup_partitions", std::to_string(grouped.getNumPartitions()));
    for (const auto& [k, vws] : grouped.collect()) {
      Print({"cogroup", k, Joined(vws.first), Joined(vws.second)});
    }
  } else if (scenario == "skew") {
    // Per-key figures of a groupByKey, a reduceByKey and a join whose data
    // is mostly one key; run under a small ember.memory.budget they spill.
    const auto parts = static_cast<uint32_t>(std::stoul(arg(3)));
    auto left = Numbers(ctx, arg(1));
    auto right = Numbers(ctx, arg(2));
    for (const auto& [k, vs] : left.groupByKey(parts).collect()) {
      int64_t sum = 0;
      for (int64_t v : vs) sum += v;
      Print({"group", k, std::to_string(vs.size()), std::to_string(sum)});
    }
    for (const auto& [k, s] :
         left.reduceByKey([](int64_t a, int64_t b) { return a + b; }, parts).collect()) {
      Print({"sum", k, std::to_string(s)});
    }
    using CountSum = std::pair<int64_t, int64_t>;
    auto joined = left.join(right, parts)
                      .mapValues([](const std::pair<int64_t, int64_t>& vw) {
                        return CountSum(1, vw.first * vw.second);
                      })
                      .reduceByKey(
                          [](CountSum a, CountSum b) {
                            return CountSum(a.first + b.first, a.second + b.second);
                          },
                          parts);
    for (const auto& [k, cs] : joined.collect()) {
      Print({"join", k, std::to_string(cs.first), std::to_string(cs.second)});
    }
  } else if (scenario == "aggregate") {
    auto numbers = Numbers(ctx, arg(1));
    // (sum, count) per key by combineByKey.
    using SumCount = std::pair<int64_t, int64_t>;
    auto sc = numbers.combineByKey(
        [](int64_t v) { return SumCount(v, 1); },
        [](SumCount c, int64_t v) { return SumCount(c.first + v, c.second + 1); },
        [](SumCount a, SumCount b) { return SumCount(a.first + b.first, a.second + b.second); }, 4);
    for (const auto& [k, c] : sc.collect()) {
      Print({"sumcount", k, std::to_string(c.first), std::to_string(c.second)});
    }
    // The distinct values per key, from a zero set.
    auto sets = numbers.aggregateByKey(
        std::set<int64_t>{},
        [](std::set<int64_t> s, int64_t v) {
          s.insert(v);
          return s;
        },
        [](std::set<int64_t> a, std::set<int64_t> b) {
          a.insert(b.begin(), b.end());
          return a;
        });
    for (const auto& [k, s] : sets.collect()) Print({"distinct", k, std::to_string(s.size())});
    // The maximum per key, from a zero that is no value's: folds start there.
    for (const auto& [k, m] :
         numbers.foldByKey(INT64_MIN, [](int64_t a, int64_t b) { return std::max(a, b); })
             .collect()) {
      Print({"max", k, std::to_string(m)});
    }
    // A reduceByKey on the reduceByKey's own partitioning needs no shuffle.
    auto sums = numbers.reduceByKey([](int64_t a, int64_t b) { return a + b; }, 4)
                    .mapValues([](int64_t v) { return v * 2; })
                    .reduceByKey([](int64_t a, int64_t b) { return a + b; }, 4);
    for (const auto& [k, s] : sums.collect()) Print({"double", k, std::to_string(s)});
    auto values = numbers.values();
    PrintScalar("aggregate",
                std::to_string(values
                                   .aggregate(
                                       SumCount(0, 0),
                                       [](SumCount acc, int64_t v) {
                                         return SumCount(acc.first + v, acc.second + 1);
                                       },
                                       [](SumCount a, SumCount b) {
                                         return SumCount(a.first + b.first, a.second + b.second);
                                       })
                                   .second));
    PrintScalar("fold", std::to_string(values.fold(0, [](int64_t a, int64_t b) { return a + b; })));
  } else if (scenario == "sort") {
    const auto parts = static_cast<uint32_t>(std::stoul(arg(2)));
    auto pairs = Pairs(ctx, arg(1), 3);
    auto asc = pairs.sortByKey(true, parts);
    PrintScalar("asc_partitions", std::to_string(asc.getNumPartitions()));
    for (const auto& [k, v] : asc.collect()) Print({"asc", k, v});
    for (const auto& [k, v] : pairs.sortByKey(false, parts).collect()) Print({"desc", k, v});
    for (const auto& [k, v] : pairs.sortByKey(true, parts, ByLengthThenText{}).collect()) {
      Print({"bylength", k, v});
    }
    for (const auto& [k, v] :
         pairs.sortBy([](const Pair& kv) { return kv.second; }, true, parts).collect()) {
      Print({"byvalue", k, v});
    }
    // Each partition sorted; the test checks the keys' partitions too.
    auto within = pairs.repartitionAndSortWithinPartitions(parts).mapPartitionsWithIndex(
        [](uint32_t index, std::vector<Pair>&& records) {
          std::vector<std::pair<uint32_t, Pair>> out;
          for (auto& r : records) out.emplace_back(index, std::move(r));
          return out;
        });
    for (const auto& [index, kv] : within.collect()) {
      Print({"within", std::to_string(index), kv.first, kv.second});
    }
    // Integers: a numeric order, not the text's.
    auto numbers = pairs.map([](const Pair& kv) {
      return std::pair<int64_t, std::string>(
          static_cast<int64_t>(kv.first.size()) * 1000 - static_cast<int64_t>(kv.second.size()),
          kv.first);
    });
    for (const auto& [n, k] : numbers.sortByKey(true, parts).collect()) {
      Print({"numeric", std::to_string(n), k});
    }
  } else if (scenario == "actions") {
    auto lines = ctx.textFile(arg(1), 4);
    PrintScalar("first", lines.first());
    for (const auto& s : lines.top(7)) Print({"top", s});
    for (const auto& s : lines.takeOrdered(7)) Print({"takeordered", s});
    for (const auto& s : lines.takeOrdered(5, ByLengthThenText{})) Print({"shortest", s});
    for (const auto& [s, n] : lines.countByValue()) Print({"countbyvalue", s, std::to_string(n)});
    const std::string dir = arg(2);
    lines.foreach (ember::with(
        dir, [](const std::string& d, const std::string& line) { AppendTo(d, "foreach", line); }));
    lines.foreachPartition(
        ember::with(dir, [](const std::string& d, std::vector<std::string>&& records) {
          AppendTo(d, "partition", std::to_string(records.size()));
        }));
    try {
      ctx.parallelize(std::vector<std::string>{}, 2).first();
      PrintScalar("empty_first", "none");
    } catch (const ember::JobFailed& e) {
      PrintScalar("empty_first", e.what());
    }
  } else if (scenario == "narrow") {
    auto lines = ctx.textFile(arg(1), 5);
    PrintScalar("partitions", std::to_string(lines.getNumPartitions()));
    for (const auto& [line, i] : lines.zipWithIndex().collect()) {
      Print({"index", std::to_string(i), line});
    }
    for (const auto& [line, id] : lines.zipWithUniqueId().collect()) {
      Print({"uniqueid", std::to_string(id), line});
    }
    auto fewer = lines.coalesce(2);
    PrintScalar("coalesced_partitions", std::to_string(fewer.getNumPartitions()));
    for (const auto& line : fewer.collect()) Print({"coalesced", line});
    auto once = lines.sample(false, 0.3, 42).collect();
    auto again = lines.sample(false, 0.3, 42).collect();
    PrintScalar("sample_repeatable", once == again ? "yes" : "no");
    for (const auto& line : once) Print({"sample", line});
    PrintScalar("sample_with_replacement", std::to_string(lines.sample(true, 2.0, 7).count()));
    auto keyed = lines.keyBy([](const std::string& s) { return s.substr(0, 3); });
    for (const auto& k : keyed.keys().collect()) Print({"keys", k});
    for (const auto& w : keyed
                             .flatMapValues([](const std::string& s) {
                               return std::vector<std::string>{s, s + "!"};
                             })
                             .values()
                             .collect()) {
      Print({"flatvalues", w});
    }
  } else if (scenario == "files") {
    for (const auto& [path, content] : ctx.wholeTextFiles(arg(1), 2).collect()) {
      Print({"whole", path, std::to_string(content.size()),
             std::to_string(std::hash<std::string>{}(content))});
    }
    auto per_file = ctx.textFileWithPath(arg(1))
                        .mapValues([](const std::string&) { return int64_t{1}; })
                        .reduceByKey([](int64_t a, int64_t b) { return a + b; })
                        .collect();
    for (const auto& [path, n] : per_file) Print({"lines", path, std::to_string(n)});
  } else if (scenario == "accumulators") {
    // Every partition's first attempt adds and then fails: what it added
    // must not count. One stage is a shuffle's map side, one a result stage.
    const std::string dir = arg(1);
    const int64_t n = std::stoll(arg(2));
    auto sevens = ctx.accumulator<int64_t>();
    auto quarters = ctx.accumulator<double>(0.5);
    auto seen = ctx.accumulator<uint64_t>();
    auto mapped = ctx.accumulator<int64_t>(100);
    using State = std::tuple<std::string, ember::Accumulator<int64_t>, ember::Accumulator<double>,
                             ember::Accumulator<uint64_t>>;
    const int64_t counted =
        ctx.range(0, n, 1, 4)
            .mapPartitionsWithIndex(ember::with(
                State{dir, sevens, quarters, seen},
                [](const State& s, uint32_t index, std::vector<int64_t>&& values) {
                  const auto& [markers, sevens, quarters, seen] = s;
                  for (int64_t v : values) {
                    if (v % 7 == 0) sevens.add(1);
                    quarters.add(0.25);
                    seen.add(1);
                  }
                  const std::string marker = markers + "/failed-" + std::to_string(index);
                  const int fd =
                      ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                  if (fd >= 0) {
                    ::close(fd);
                    throw std::runtime_error("the first attempt of partition " +
                                             std::to_string(index) + " fails");
                  }
                  return std::move(values);
                }))
            .count();
    PrintScalar("count", std::to_string(counted));
    auto sums = ctx.range(0, n, 1, 3)
                    .map(ember::with(mapped,
                                     [](const ember::Accumulator<int64_t>& m, int64_t v) {
                                       m.add(v);
                                       return std::pair<int64_t, int64_t>(v % 5, v);
                                     }))
                    .reduceByKey([](int64_t a, int64_t b) { return a + b; }, 2)
                    .collect();
    PrintScalar("keys", std::to_string(sums.size()));
    PrintScalar("sevens", std::to_string(sevens.value()));
    PrintScalar("quarters", std::to_string(quarters.value()));
    PrintScalar("seen", std::to_string(seen.value()));
    PrintScalar("mapped", std::to_string(mapped.value()));
  } else if (scenario == "cache") {
    // A persisted RDD read by several jobs: computed once (one marker per
    // partition), then from the executors' blocks. The test may kill an
    // executor before GO_FILE appears; then its partitions are computed
    // again. After unpersist, everything is.
    const std::string markers = arg(1);
    const auto level = arg(2) == "disk"              ? ember::StorageLevel::kDisk
                       : arg(2) == "memory_and_disk" ? ember::StorageLevel::kMemoryAndDisk
                                                     : ember::StorageLevel::kMemory;
    const int64_t records = args.size() > 4 ? std::stoll(arg(4)) : 20000;
    auto kept = ctx.range(0, records, 1, 4)
                    .mapPartitionsWithIndex(ember::with(
                        markers,
                        [](const std::string& dir, uint32_t, std::vector<int64_t>&& values) {
                          test_apps::Mark(dir, "compute");
                          return std::move(values);
                        }))
                    .map([](int64_t v) { return v * 3; })
                    .persist(level);
    auto sum = [](int64_t a, int64_t b) { return a + b; };
    PrintScalar("count1", std::to_string(kept.count()));
    PrintScalar("sum1", std::to_string(kept.reduce(sum)));
    PrintScalar("evens1",
                std::to_string(kept.filter([](int64_t v) { return v % 2 == 0; }).count()));
    PrintScalar("ready", "yes");
    std::fflush(stdout);
    test_apps::WaitForFile(arg(3));
    PrintScalar("sum2", std::to_string(kept.reduce(sum)));
    kept.unpersist();
    PrintScalar("sum3", std::to_string(kept.reduce(sum)));
  } else if (scenario == "bad") {
    // Arguments the driver refuses before running anything.
    auto numbers = ctx.range(0, 10, 1, 2);
    auto pairs = numbers.map([](int64_t v) { return std::pair<int64_t, int64_t>(v, v); });
    const std::string& which = arg(1);
    if (which == "sample") numbers.sample(false, 1.5).count();
    if (which == "coalesce") numbers.coalesce(0).count();
    if (which == "partitionBy") pairs.partitionBy(0).count();
    if (which == "sort") pairs.repartitionAndSortWithinPartitions(0).count();
    PrintScalar("bad", "accepted");
  } else {
    return Usage();
  }
  return 0;
}
