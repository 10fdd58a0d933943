// TeraGen, TeraSort and TeraValidate (examples/terasort) as real
// applications in local-cluster[2,1]: the sorted output must hold exactly
// the generated records, in key order, as this test checks by reading the
// files itself; TeraValidate must agree, and must refuse damaged output.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "external_cluster.h"

namespace ember::testing {
namespace {

namespace fs = std::filesystem;

constexpr size_t kRecord = 100;

// The records of a directory's part files, in name order.
std::vector<std::string> ReadRecords(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename();
    if (name.rfind("part-", 0) == 0) names.push_back(e.path());
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> records;
  for (const auto& name : names) {
    std::ifstream in(name, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    const std::string bytes = s.str();
    EXPECT_EQ(bytes.size() % kRecord, 0u) << name;
    for (size_t at = 0; at + kRecord <= bytes.size(); at += kRecord) {
      records.push_back(bytes.substr(at, kRecord));
    }
  }
  return records;
}

TEST(TeraSortTest, SortsGeneratedRecordsAndValidatesThem) {
  TempDir dir;
  const std::string in = dir / "in", out = dir / "out";
  const std::string master = "local-cluster[2,1]";
  ProcessResult gen = Submit(master, EMBER_TERAGEN_APP, {"60000", in, "4"});
  ASSERT_TRUE(gen.Exited(0)) << gen.Describe();
  const std::vector<std::string> input = ReadRecords(in);
  ASSERT_EQ(input.size(), 60000u);

  ProcessResult sort = Submit(master, EMBER_TERASORT_APP, {in, out, "5"});
  ASSERT_TRUE(sort.Exited(0)) << sort.Describe();
  const std::vector<std::string> output = ReadRecords(out);
  // The same records, ordered by their 10-byte keys (as unsigned bytes).
  std::vector<std::string> want = input;
  std::sort(want.begin(), want.end());
  std::vector<std::string> got_sorted = output;
  std::sort(got_sorted.begin(), got_sorted.end());
  EXPECT_TRUE(got_sorted == want) << "the output does not hold the input's records";
  for (size_t i = 1; i < output.size(); ++i) {
    ASSERT_LE(output[i - 1].compare(0, 10, output[i], 0, 10), 0) << "out of order at " << i;
  }
  // More than one part file, so the order across them was tested too.
  size_t parts = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    parts += e.path().filename().string().rfind("part-", 0) == 0 ? 1 : 0;
  }
  EXPECT_GT(parts, 1u);

  ProcessResult valid = Submit(master, EMBER_TERAVALIDATE_APP, {out, in});
  ASSERT_TRUE(valid.Exited(0)) << valid.Describe();
  EXPECT_NE(valid.out.find("records 60000\n"), std::string::npos) << valid.out;
  EXPECT_NE(valid.out.find("sorted: yes"), std::string::npos) << valid.out;

  // Damage: swap the first two records of the last part, then drop a record.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(out)) {
    if (e.path().filename().string().rfind("part-", 0) == 0) names.push_back(e.path());
  }
  std::sort(names.begin(), names.end());
  std::string last;
  {
    std::ifstream f(names.back(), std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    last = s.str();
  }
  ASSERT_GE(last.size(), 2 * kRecord);
  std::string swapped =
      last.substr(kRecord, kRecord) + last.substr(0, kRecord) + last.substr(2 * kRecord);
  if (swapped.compare(0, 10, last, 0, 10) != 0) {
    std::ofstream(names.back(), std::ios::binary | std::ios::trunc) << swapped;
    ProcessResult bad = Submit(master, EMBER_TERAVALIDATE_APP, {out});
    EXPECT_EQ(bad.exit_code, 1) << bad.Describe();
    EXPECT_NE(bad.err.find("smaller than the one before them"), std::string::npos) << bad.err;
  }
  std::ofstream(names.back(), std::ios::binary | std::ios::trunc) << last.substr(kRecord);
  ProcessResult missing = Submit(master, EMBER_TERAVALIDATE_APP, {out, in});
  EXPECT_EQ(missing.exit_code, 1) << missing.Describe();
  EXPECT_NE(missing.err.find("does not hold the input's records"), std::string::npos)
      << missing.err;
  // A file that is not whole records is refused by name before any job.
  std::ofstream(names.back(), std::ios::binary | std::ios::app) << "xyz";
  ProcessResult torn = Submit(master, EMBER_TERAVALIDATE_APP, {out});
  EXPECT_NE(torn.exit_code, 0);
  EXPECT_NE(torn.err.find("not a whole number of 100-byte records"), std::string::npos) << torn.err;
}

TEST(TeraSortTest, AsciiRecordsSortAsTheirLinesDo) {
  // gensort's ASCII form: 100-byte lines ending in \r\n, printable keys.
  TempDir dir;
  const std::string in = dir / "in", out = dir / "out";
  ProcessResult gen = Submit("local[2]", EMBER_TERAGEN_APP, {"--ascii", "20000", in, "3"});
  ASSERT_TRUE(gen.Exited(0)) << gen.Describe();
  std::vector<std::string> input = ReadRecords(in);
  ASSERT_EQ(input.size(), 20000u);
  for (const auto& r : input) {
    ASSERT_EQ(r.substr(98), "\r\n");
    for (size_t i = 0; i < 10; ++i) ASSERT_TRUE(r[i] >= ' ' && r[i] <= '~') << r;
  }
  ProcessResult sort = Submit("local[2]", EMBER_TERASORT_APP, {in, out, "4"});
  ASSERT_TRUE(sort.Exited(0)) << sort.Describe();
  // What a line sort gives (keys are distinct, so the order is unique).
  std::sort(input.begin(), input.end());
  EXPECT_TRUE(ReadRecords(out) == input) << "not the order of a line sort";
}

TEST(TeraSortTest, SurvivesAnExecutorKilledWhileSorting) {
  TempDir dir;
  const std::string in = dir / "in", out = dir / "out";
  ProcessResult gen = Submit("local[2]", EMBER_TERAGEN_APP, {"300000", in, "6"});
  ASSERT_TRUE(gen.Exited(0)) << gen.Describe();
  ExternalCluster cluster("it-terasort-kill", 2, {}, {in, out, "6"}, EMBER_TERASORT_APP);
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  cluster.StartExecutor(*port, "1");
  Process& victim = cluster.StartExecutor(*port, "2");
  // Once the sort itself (after the sampling job) runs.
  ASSERT_TRUE(WaitUntil([&] {
    return cluster.driver().Stderr().find("(saveAsBinaryFile) started") != std::string::npos ||
           !cluster.driver().running();
  }));
  ASSERT_TRUE(cluster.driver().running()) << "the sort ended before the executor could be killed";
  ASSERT_EQ(::kill(victim.pid(), SIGKILL), 0);
  ProcessResult driver = cluster.driver().Wait();
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  ProcessResult valid = Submit("local[2]", EMBER_TERAVALIDATE_APP, {out, in});
  ASSERT_TRUE(valid.Exited(0)) << valid.Describe();
  EXPECT_NE(valid.out.find("records 300000\n"), std::string::npos) << valid.out;
  EXPECT_NE(valid.out.find("sorted: yes"), std::string::npos) << valid.out;
}

// The bar for memory: TeraSort of an input four times the memory
// budget of all executors together completes, validates, and stays within
// the budget plus a bounded overhead. Each executor's budget is 16 MiB, the
// input 128 MB; the executors' peak RSS is read from /proc throughout.
TEST(TeraSortTest, SortsFourTimesTheExecutorsMemoryBudget) {
  constexpr int64_t kMiB = 1 << 20;
  constexpr int64_t kBudget = 16 * kMiB;
  // What an executor holds besides its task data, none of it growing with
  // the input: code and libraries (17 MiB idle), the fetch buffer
  // (ember.reducer.maxSizeInFlight, 8m here) and gRPC's stream windows
  // (1 MiB per fetch in flight), a block of reads and writes per task, and
  // allocator slack. Measured here: 57-65 MiB peak on 128 MB, 71-72 MiB
  // on 512 MB.
  constexpr int64_t kOverhead = 80 * kMiB;
  TempDir dir;
  const std::string in = dir / "in", out = dir / "out";
  const int64_t records = 4 * 2 * kBudget / 100;
  ProcessResult gen = Submit("local[2]", EMBER_TERAGEN_APP, {std::to_string(records), in, "8"});
  ASSERT_TRUE(gen.Exited(0)) << gen.Describe();

  ExternalCluster cluster("it-terasort-budget", 2, {"--conf", "ember.reducer.maxSizeInFlight=8m"},
                          {in, out, "8"}, EMBER_TERASORT_APP);
  const auto port = cluster.WaitForPort();
  ASSERT_TRUE(port.has_value()) << cluster.driver().Wait(std::chrono::seconds(1)).Describe();
  std::vector<Process*> executors;
  for (const std::string id : {"1", "2"}) {
    executors.push_back(&cluster.StartExecutor(
        *port, id, {"--memory", "256m", "--memory-budget", "16m", "--metrics-port", "0"}));
  }
  std::vector<int> metrics_ports;
  for (Process* e : executors) {
    const auto p = MetricsPort(*e);
    ASSERT_TRUE(p.has_value()) << e->Wait(std::chrono::seconds(1)).Describe();
    metrics_ports.push_back(*p);
  }
  std::vector<int64_t> peak(executors.size(), 0);
  std::vector<double> spilled(executors.size(), 0);
  while (cluster.driver().running()) {
    for (size_t i = 0; i < executors.size(); ++i) {
      peak[i] = std::max(peak[i], ProcessMemoryBytes(executors[i]->pid(), "VmHWM").value_or(0));
      if (auto v = MetricValue(HttpGet(metrics_ports[i], "/metrics").body,
                               "ember_spilled_bytes_total")) {
        spilled[i] = std::max(spilled[i], *v);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ProcessResult driver = cluster.driver().Wait();
  ASSERT_TRUE(driver.Exited(0)) << driver.Describe();
  for (size_t i = 0; i < executors.size(); ++i) {
    EXPECT_GT(spilled[i], 0) << "executor " << i + 1 << " never spilled";
    EXPECT_GT(peak[i], 0) << "executor " << i + 1 << "'s RSS was never read";
    EXPECT_LE(peak[i], kBudget + kOverhead)
        << "executor " << i + 1 << " peaked at " << peak[i] / kMiB << " MiB";
    std::printf("executor %zu: peak RSS %lld MiB, spilled %.0f MiB\n", i + 1,
                static_cast<long long>(peak[i] / kMiB), spilled[i] / kMiB);
  }
  ProcessResult valid = Submit("local[2]", EMBER_TERAVALIDATE_APP, {out, in});
  ASSERT_TRUE(valid.Exited(0)) << valid.Describe();
  EXPECT_NE(valid.out.find("records " + std::to_string(records) + "\n"), std::string::npos)
      << valid.out;
  EXPECT_NE(valid.out.find("sorted: yes"), std::string::npos) << valid.out;
}

}  // namespace
}  // namespace ember::testing
