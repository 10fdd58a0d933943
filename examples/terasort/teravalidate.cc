// TeraValidate: checks that the gensort records of DIR (terasort's output,
// its part files in name order) are in key order, and prints their count
// and an order-independent checksum. With INPUT, also checks that DIR holds
// the same records as INPUT (same count and checksum). Exits 1 on any
// violation, naming it.
//
//   ember-submit --master local-cluster[2,1] libteravalidate.so DIR [INPUT]
#include <algorithm>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include <ember/ember.h>

#include "gensort_record.h"

namespace {

// Per partition: index, records, checksum, first key, last key, the number
// of records smaller than the one before them.
using Summary = std::tuple<uint32_t, uint64_t, uint64_t, std::string, std::string, uint64_t>;

std::vector<Summary> Summarize(ember::Context& ctx, const std::string& dir) {
  auto summaries =
      ctx.binaryRecords(dir, terasort::kRecordBytes)
          .mapPartitionsWithIndex([](uint32_t index, std::vector<std::string>&& records) {
            Summary s{index, records.size(), 0, "", "", 0};
            auto& [i, count, sum, first, last, disorder] = s;
            std::string previous;
            for (const std::string& r : records) {
              sum += terasort::RecordHash(r);
              std::string key = r.substr(0, terasort::kKeyBytes);
              if (!previous.empty() && key < previous) ++disorder;
              if (first.empty()) first = key;
              previous = std::move(key);
            }
            last = previous;
            return std::vector<Summary>{s};
          })
          .collect();
  std::sort(summaries.begin(), summaries.end());
  return summaries;
}

std::string Hex(const std::string& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

}  // namespace

EMBER_APPLICATION(ctx, args) {
  if (args.empty() || args.size() > 2) {
    std::fprintf(stderr, "usage: teravalidate DIR [INPUT]\n");
    return 2;
  }
  uint64_t records = 0, checksum = 0;
  std::string problem;
  std::string last_key;
  uint32_t last_partition = 0;
  for (const auto& [index, count, sum, first, last, disorder] : Summarize(ctx, args[0])) {
    records += count;
    checksum += sum;
    if (disorder > 0 && problem.empty()) {
      problem = "partition " + std::to_string(index) + " has " + std::to_string(disorder) +
                " records smaller than the one before them";
    }
    if (count == 0) continue;
    if (!last_key.empty() && first < last_key && problem.empty()) {
      problem = "partition " + std::to_string(index) + " starts with key " + Hex(first) +
                ", smaller than partition " + std::to_string(last_partition) + "'s last key " +
                Hex(last_key);
    }
    last_key = last;
    last_partition = index;
  }
  std::printf("records %llu\nchecksum %016llx\n", static_cast<unsigned long long>(records),
              static_cast<unsigned long long>(checksum));
  if (args.size() > 1) {
    uint64_t in_records = 0, in_checksum = 0;
    for (const auto& s : Summarize(ctx, args[1])) {
      in_records += std::get<1>(s);
      in_checksum += std::get<2>(s);
    }
    std::printf("input records %llu\ninput checksum %016llx\n",
                static_cast<unsigned long long>(in_records),
                static_cast<unsigned long long>(in_checksum));
    if (problem.empty() && (in_records != records || in_checksum != checksum)) {
      problem = "the output does not hold the input's records (" + std::to_string(records) +
                " against " + std::to_string(in_records) + ", or a different checksum)";
    }
  }
  if (!problem.empty()) {
    std::fprintf(stderr, "teravalidate: %s\n", problem.c_str());
    return 1;
  }
  std::printf("sorted: yes\n");
  return 0;
}
