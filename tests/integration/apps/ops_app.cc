// An application for the integration tests: its first argument selects a
// scenario exercising one group of RDD operations; the rest are the
// scenario's inputs (files the test generated, numbers).
//
// Output, on stdout, is one fact per line so that the test can parse it:
//   R<TAB>field[<TAB>field...]   a result record
//   N<TAB>name<TAB>value         a named scalar (a count, a partition count)
// The test computes its expectations from the same inputs on its own; the
// application never prints what it "should" get.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <ember/ember.h>

#include "test_app.h"

using test_apps::Mark;
using test_apps::WaitForFile;

namespace {

using Pair = std::pair<std::string, std::string>;

void PrintRecord(const std::string& a) {
  std::printf("R\t%s\n", a.c_str());
}
void PrintRecord(const std::string& a, const std::string& b) {
  std::printf("R\t%s\t%s\n", a.c_str(), b.c_str());
}
void PrintScalar(const char* name, const std::string& value) {
  std::printf("N\t%s\t%s\n", name, value.c_str());
}
void PrintScalar(const char* name, uint64_t value) {
  PrintScalar(name, std::to_string(value));
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// "key value" -> (key, value).
Pair SplitPair(const std::string& line) {
  const size_t sp = line.find(' ');
  if (sp == std::string::npos) return {line, ""};
  return {line.substr(0, sp), line.substr(sp + 1)};
}

int Usage() {
  std::fprintf(stderr,
               "usage: ops_app SCENARIO ARGS...\n"
               "  groupbykey IN | distinct IN | union IN1 IN2 | repartition IN N | keyed IN\n"
               "  take IN K | countbykey IN | numbers START END STEP SLICES\n"
               "  parallelize IN SLICES | broadcast DICT IN | stopwords STOP IN | reuse IN "
               "MARKER_DIR | empty\n"
               "  slow RECORDS SLICES RECORD_SLEEP_US PARTITION_SLEEP_US MARKER_DIR\n"
               "  save RECORDS SLICES RECORD_SLEEP_US MARKER_DIR OUT FAIL_AT [HOLD_FILE]\n"
               "  wide RECORDS VALUE_BYTES REDUCERS | twice RECORDS MARKER_DIR GO_FILE\n"
               "  release STEP1_FILE STEP2_FILE | collect RECORDS | bigcast MIB HOLD_FILE\n"
               "  ui IN OUT TASKS TASK_SLEEP_MS HOLD_FILE\n");
  return 2;
}

}  // namespace

EMBER_APPLICATION(ctx, args) {
  if (args.empty()) return Usage();
  const std::string& scenario = args[0];
  auto arg = [&](size_t i) -> const std::string& { return test_apps::ArgAt(args, i); };

  if (scenario == "groupbykey") {
    auto groups = ctx.textFile(arg(1))
                      // A lambda, not SplitPair itself: a function pointer's
                      // bytes mean nothing in another process.
                      .map([](const std::string& line) { return SplitPair(line); })
                      .groupByKey(3)
                      .collect();
    for (const auto& [key, values] : groups) {
      std::string joined;
      for (const auto& v : values) joined += (joined.empty() ? "" : ",") + v;
      PrintRecord(key, joined);
    }
  } else if (scenario == "distinct") {
    for (const auto& line : ctx.textFile(arg(1)).distinct(3).collect()) PrintRecord(line);
  } else if (scenario == "union") {
    auto left = ctx.textFile(arg(1));
    auto right = ctx.textFile(arg(2));
    auto both = left.unionWith(right);
    PrintScalar("left_partitions", left.getNumPartitions());
    PrintScalar("right_partitions", right.getNumPartitions());
    PrintScalar("partitions", both.getNumPartitions());
    PrintScalar("count", both.count());
    for (const auto& line : both.collect()) PrintRecord(line);
  } else if (scenario == "repartition") {
    auto parts = ctx.textFile(arg(1)).repartition(static_cast<uint32_t>(std::stoul(arg(2))));
    PrintScalar("partitions", parts.getNumPartitions());
    for (const auto& line : parts.collect()) PrintRecord(line);
    auto sizes = parts
                     .mapPartitions([](std::vector<std::string>&& records) {
                       return std::vector<uint64_t>{records.size()};
                     })
                     .collect();
    for (uint64_t s : sizes) PrintScalar("partition_size", s);
  } else if (scenario == "keyed") {
    auto out =
        ctx.textFile(arg(1))
            .keyBy([](const std::string& s) { return static_cast<int64_t>(s.size()); })
            .filter([](const std::pair<int64_t, std::string>& kv) { return kv.first % 2 == 0; })
            .mapValues([](std::string s) { return s + "!"; })
            .collect();
    for (const auto& [len, s] : out) PrintRecord(std::to_string(len), s);
  } else if (scenario == "take") {
    for (const auto& line : ctx.textFile(arg(1)).take(std::stoull(arg(2)))) PrintRecord(line);
  } else if (scenario == "countbykey") {
    auto counts = ctx.textFile(arg(1)).keyBy([](const std::string& s) { return s; }).countByKey();
    for (const auto& [key, n] : counts) PrintRecord(key, std::to_string(n));
  } else if (scenario == "numbers") {
    auto r = ctx.range(std::stoll(arg(1)), std::stoll(arg(2)), std::stoll(arg(3)),
                       static_cast<uint32_t>(std::stoul(arg(4))));
    PrintScalar("count", r.count());
    PrintScalar("sum", std::to_string(r.reduce([](int64_t a, int64_t b) { return a + b; })));
    for (int64_t v : r.collect()) PrintRecord(std::to_string(v));
  } else if (scenario == "parallelize") {
    auto rdd = ctx.parallelize(ReadLines(arg(1)), static_cast<uint32_t>(std::stoul(arg(2))));
    PrintScalar("partitions", rdd.getNumPartitions());
    PrintScalar("count", rdd.count());
    for (const auto& line : rdd.collect()) PrintRecord(line);
  } else if (scenario == "broadcast") {
    // The dictionary is too large to send with every task; executors fetch
    // it once through the handle.
    auto dict = ctx.broadcast(ReadLines(arg(1)));
    auto words = ctx.textFile(arg(2))
                     .map(ember::with(dict,
                                      [](const auto& dict, const std::string& line) {
                                        const auto& d = dict.value();
                                        const size_t i = std::stoul(line);
                                        if (i >= d.size()) throw std::out_of_range("index " + line);
                                        return std::pair<std::string, std::string>(line, d[i]);
                                      }))
                     .collect();
    for (const auto& [i, w] : words) PrintRecord(i, w);
  } else if (scenario == "stopwords") {
    // A set broadcast as is: words to leave out of a count.
    const std::vector<std::string> stop = ReadLines(arg(1));
    auto ignored = ctx.broadcast(std::set<std::string>(stop.begin(), stop.end()));
    auto counts =
        ctx.textFile(arg(2))
            .filter(ember::with(ignored,
                                [](const auto& ignored, const std::string& word) {
                                  return ignored.value().count(word) == 0;
                                }))
            .map([](std::string w) { return std::pair<std::string, int64_t>(std::move(w), 1); })
            .reduceByKey([](int64_t a, int64_t b) { return a + b; })
            .collect();
    for (const auto& [w, n] : counts) PrintRecord(w, std::to_string(n));
  } else if (scenario == "reuse") {
    // Every evaluation of the map side leaves a marker; two actions on the
    // same reduceByKey must evaluate it once per partition in total.
    const std::string marker_dir = arg(2);
    auto lines = ctx.textFile(arg(1));
    auto counts = lines
                      .mapPartitions(ember::with(
                          marker_dir,
                          [](const std::string& dir, std::vector<std::string>&& records) {
                            Mark(dir, "map");
                            return std::move(records);
                          }))
                      .map([](std::string s) { return std::pair<std::string, int64_t>(s, 1); })
                      .reduceByKey([](int64_t a, int64_t b) { return a + b; });
    PrintScalar("map_partitions", lines.getNumPartitions());
    PrintScalar("distinct", counts.count());
    for (const auto& [k, n] : counts.collect()) PrintRecord(k, std::to_string(n));
  } else if (scenario == "empty") {
    auto none = ctx.parallelize(std::vector<int64_t>{}, 2);
    PrintScalar("count", none.count());
    PrintScalar("collect_size", none.collect().size());
    PrintScalar("take_size", none.take(3).size());
    PrintScalar("range_count", ctx.range(5, 5).count());
    PrintScalar("filtered_shuffle_size",
                ctx.range(0, 100, 1, 3)
                    .filter([](int64_t) { return false; })
                    .map([](int64_t v) { return std::pair<int64_t, int64_t>(v, v); })
                    .reduceByKey([](int64_t a, int64_t b) { return a + b; })
                    .collect()
                    .size());
    try {
      none.reduce([](int64_t a, int64_t b) { return a + b; });
      PrintScalar("reduce_error", "none");
    } catch (const ember::JobFailed& e) {
      PrintScalar("reduce_error", e.what());
    }
  } else if (scenario == "slow") {
    // Slow on purpose in both stages, so that the test can act (kill an
    // executor, scrape metrics) while a phase is running.
    const int64_t records = std::stoll(arg(1));
    const auto slices = static_cast<uint32_t>(std::stoul(arg(2)));
    // (marker directory, microseconds to sleep)
    using Pace = std::pair<std::string, int64_t>;
    const Pace map_pace{arg(5), std::stoll(arg(3))};
    const Pace reduce_pace{arg(5), std::stoll(arg(4))};
    auto sums = ctx.range(0, records, 1, slices)
                    .mapPartitions(ember::with(map_pace,
                                               [](const Pace& pace, std::vector<int64_t>&& values) {
                                                 Mark(pace.first, "map");
                                                 std::vector<std::pair<int64_t, int64_t>> out;
                                                 for (int64_t v : values) {
                                                   std::this_thread::sleep_for(
                                                       std::chrono::microseconds(pace.second));
                                                   out.emplace_back(v % 16, v);
                                                 }
                                                 return out;
                                               }))
                    .reduceByKey([](int64_t a, int64_t b) { return a + b; }, 8)
                    .mapPartitions(ember::with(
                        reduce_pace,
                        [](const Pace& pace, std::vector<std::pair<int64_t, int64_t>>&& kvs) {
                          Mark(pace.first, "reduce");
                          std::this_thread::sleep_for(std::chrono::microseconds(pace.second));
                          return std::move(kvs);
                        }))
                    .collect();
    for (const auto& [k, s] : sums) PrintRecord(std::to_string(k), std::to_string(s));
  } else if (scenario == "keyed-default") {
    // reduceByKey without a partition count: ember.default.parallelism (or
    // spark.default.parallelism) decides.
    auto sums = ctx.range(0, 100, 1, 5)
                    .map([](int64_t v) { return std::pair<int64_t, int64_t>(v % 10, v); })
                    .reduceByKey([](int64_t a, int64_t b) { return a + b; });
    PrintScalar("partitions", sums.getNumPartitions());
    PrintScalar("keys", sums.count());
  } else if (scenario == "wide") {
    // A shuffle of RECORDS values of VALUE_BYTES each (the record's number,
    // padded with 'x') from 2 map tasks into REDUCERS groups; per group the
    // count and the sum of the numbers, so a lost, doubled or garbled
    // value shows.
    const int64_t records = std::stoll(arg(1));
    const int64_t value_bytes = std::stoll(arg(2));
    const auto reducers = static_cast<uint32_t>(std::stoul(arg(3)));
    using Shape = std::pair<int64_t, int64_t>;  // (value bytes, reducers)
    auto groups =
        ctx.range(0, records, 1, 2)
            .map(ember::with(Shape{value_bytes, reducers},
                             [](const Shape& shape, int64_t v) {
                               std::string value = std::to_string(v);
                               value.resize(static_cast<size_t>(std::max<int64_t>(
                                                shape.first, static_cast<int64_t>(value.size()))),
                                            'x');
                               return std::pair<int64_t, std::string>(v % shape.second,
                                                                      std::move(value));
                             }))
            .groupByKey(reducers)
            .map([](const std::pair<int64_t, std::vector<std::string>>& group) {
              int64_t sum = 0;
              for (const std::string& value : group.second) sum += std::stoll(value);
              return std::pair<int64_t, std::pair<int64_t, int64_t>>(
                  group.first, {static_cast<int64_t>(group.second.size()), sum});
            })
            .collect();
    for (const auto& [k, stats] : groups) {
      std::printf("R\t%lld\t%lld\t%lld\n", static_cast<long long>(k),
                  static_cast<long long>(stats.first), static_cast<long long>(stats.second));
    }
  } else if (scenario == "twice") {
    // The same shuffle read by two jobs; between them the test may damage
    // a map output on disk (it waits for "ready" and then creates GO_FILE).
    const int64_t records = std::stoll(arg(1));
    const std::string markers = arg(2);
    auto sums =
        ctx.range(0, records, 1, 4)
            .mapPartitions(ember::with(markers,
                                       [](const std::string& dir, std::vector<int64_t>&& values) {
                                         Mark(dir, "map");
                                         std::vector<std::pair<int64_t, int64_t>> out;
                                         for (int64_t v : values) out.emplace_back(v % 16, v);
                                         return out;
                                       }))
            .reduceByKey([](int64_t a, int64_t b) { return a + b; }, 4);
    PrintScalar("first", sums.count());
    PrintScalar("ready", "yes");
    std::fflush(stdout);
    WaitForFile(arg(3));
    for (const auto& [k, s] : sums.collect()) PrintRecord(std::to_string(k), std::to_string(s));
  } else if (scenario == "collect") {
    // RECORDS strings of 100 bytes brought back to the driver.
    const int64_t records = std::stoll(arg(1));
    auto rows = ctx.range(0, records, 1, 4).map([](int64_t v) {
      std::string row = std::to_string(v);
      row.resize(100, '.');
      return row;
    });
    PrintScalar("collected", rows.collect().size());
  } else if (scenario == "release") {
    // A broadcast and a shuffle that the program stops using: the test
    // watches them being freed on the driver and the executors.
    {
      auto pad = ctx.broadcast(std::string(1 << 20, 'p'));
      auto sums = ctx.range(0, 1000, 1, 4)
                      .map(ember::with(pad,
                                       [](const ember::Broadcast<std::string>& p, int64_t v) {
                                         return std::pair<int64_t, int64_t>(
                                             v % 8, v + static_cast<int64_t>(p.value().size()));
                                       }))
                      .reduceByKey([](int64_t a, int64_t b) { return a + b; }, 4);
      // The program's own handle goes; the RDD still holds the value.
      pad = ember::Broadcast<std::string>();
      PrintScalar("count", sums.count());
      PrintScalar(
          "sum",
          std::to_string(sums.map([](const std::pair<int64_t, int64_t>& kv) { return kv.second; })
                             .reduce([](int64_t a, int64_t b) { return a + b; })));
      PrintScalar("held", "yes");
      std::fflush(stdout);
      WaitForFile(arg(1));
    }
    PrintScalar("released", "yes");
    std::fflush(stdout);
    WaitForFile(arg(2));
  } else if (scenario == "bigcast") {
    // A broadcast of MIB MiB that every executor fetches at once; the driver
    // then waits for HOLD_FILE so the test can read its peak memory.
    auto big = ctx.broadcast(std::string(std::stoull(arg(1)) << 20, 'b'));
    const int64_t total =
        ctx.range(0, 8, 1, 8)
            .map(ember::with(big, [](const ember::Broadcast<std::string>& b,
                                     int64_t) { return static_cast<int64_t>(b.value().size()); }))
            .reduce([](int64_t a, int64_t b) { return a + b; });
    PrintScalar("total", total);
    PrintScalar("held", "yes");
    std::fflush(stdout);
    WaitForFile(arg(2));
  } else if (scenario == "save") {
    // saveAsTextFile of range(0, RECORDS) in SLICES part files, slowly (a
    // marker every 50 records) so the test can kill an executor mid-write.
    // FAIL_AT >= 0: the record with that value throws every time, so the
    // job fails; then the error is printed and, given HOLD_FILE, the
    // driver waits for that file before exiting, so the test can look at
    // the executors while they are still connected.
    const int64_t records = std::stoll(arg(1));
    const auto slices = static_cast<uint32_t>(std::stoul(arg(2)));
    using PaceTuple = std::tuple<std::string, int64_t, int64_t>;
    const PaceTuple pace{arg(4), std::stoll(arg(3)), std::stoll(arg(6))};
    try {
      ctx.range(0, records, 1, slices)
          .map(ember::with(pace,
                           [](const PaceTuple& p, int64_t v) {
                             const auto& [markers, sleep_us, fail_at] = p;
                             if (v == fail_at)
                               throw std::runtime_error("record " + std::to_string(v) +
                                                        " is cursed");
                             if (v % 50 == 0) Mark(markers, "save");
                             std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
                             return v;
                           }))
          .saveAsTextFile(arg(5));
      PrintScalar("saved", "yes");
    } catch (const ember::JobFailed& e) {
      PrintScalar("save_error", e.what());
      std::fflush(stdout);
      if (args.size() > 7) WaitForFile(args[7]);
    }
  } else if (scenario == "ui") {
    // Three jobs for the web UI tests: a word count over IN (two stages),
    // a slow one-stage job whose progress a browser can watch, and a save
    // of IN to OUT; then the driver stays up until HOLD_FILE exists. Once
    // it exists the slow tasks stop sleeping, so a test can ask for more
    // slow work than it needs on a loaded machine and still end promptly.
    const auto words = ctx.textFile(arg(1), 4)
                           .flatMap([](const std::string& line, auto& emit) {
                             size_t start = 0;
                             while (start < line.size()) {
                               size_t end = line.find(' ', start);
                               if (end == std::string::npos) end = line.size();
                               if (end > start) emit(line.substr(start, end - start));
                               start = end + 1;
                             }
                           })
                           .map([](const std::string& w) { return std::make_pair(w, int64_t{1}); })
                           .reduceByKey([](int64_t a, int64_t b) { return a + b; }, 3)
                           .collect();
    PrintScalar("distinct_words", words.size());
    std::fflush(stdout);
    const int64_t tasks = std::stoll(arg(3));
    const int64_t sleep_ms = std::stoll(arg(4));
    const auto slow =
        ctx.range(0, tasks, 1, static_cast<uint32_t>(tasks))
            .map(ember::with(std::make_pair(sleep_ms, arg(5)),
                             [](const std::pair<int64_t, std::string>& pace, int64_t v) {
                               if (!std::filesystem::exists(pace.second))
                                 std::this_thread::sleep_for(std::chrono::milliseconds(pace.first));
                               return v;
                             }))
            .count();
    PrintScalar("slow_count", static_cast<uint64_t>(slow));
    ctx.textFile(arg(1), 2).saveAsTextFile(arg(2));
    PrintScalar("saved", "yes");
    std::fflush(stdout);
    WaitForFile(arg(5));
  } else {
    return Usage();
  }
  return 0;
}

// A second program in the same library, chosen with --class squares:
// the sum of v*v over range(0, N).
EMBER_ENTRY_POINT(squares, ctx, args) {
  const int64_t n = args.empty() ? 100 : std::stoll(args[0]);
  const int64_t sum =
      ctx.range(0, n, 1, 4).map([](int64_t v) { return v * v; }).reduce([](int64_t a, int64_t b) {
        return a + b;
      });
  PrintScalar("sum_squares", std::to_string(sum));
  return 0;
}
