// TeraGen: RECORDS gensort records into OUTPUT_DIR, one part file per
// partition; with --ascii, in gensort's ASCII form (lines of 100 bytes with
// printable keys, which GNU sort can sort too).
//
//   ember-submit --master local-cluster[2,1] libteragen.so [--ascii] RECORDS OUTPUT_DIR
//   [PARTITIONS]
#include <cstdio>
#include <string>
#include <vector>

#include <ember/ember.h>

#include "gensort_record.h"

EMBER_APPLICATION(ctx, all_args) {
  std::vector<std::string> args = all_args;
  const bool ascii = !args.empty() && args[0] == "--ascii";
  if (ascii) args.erase(args.begin());
  if (args.size() < 2 || args.size() > 3) {
    std::fprintf(stderr, "usage: teragen [--ascii] RECORDS OUTPUT_DIR [PARTITIONS]\n");
    return 2;
  }
  int64_t records = 0, partitions = 0;
  try {
    records = std::stoll(args[0]);
    partitions = args.size() > 2 ? std::stoll(args[2]) : ctx.defaultParallelism();
  } catch (const std::exception&) {
    records = -1;
  }
  if (records < 0 || partitions <= 0 || partitions > 100000) {
    std::fprintf(stderr, "teragen: RECORDS must be >= 0 and PARTITIONS from 1 to 100000\n");
    return 2;
  }
  auto rows = ctx.range(0, records, 1, static_cast<uint32_t>(partitions));
  if (ascii) {
    rows.map([](int64_t row) { return terasort::MakeAsciiRecord(static_cast<uint64_t>(row)); })
        .saveAsBinaryFile(args[1]);
  } else {
    rows.map([](int64_t row) { return terasort::MakeRecord(static_cast<uint64_t>(row)); })
        .saveAsBinaryFile(args[1]);
  }
  std::printf("teragen: %lld records (%lld bytes) in %s\n", static_cast<long long>(records),
              static_cast<long long>(records * 100), args[1].c_str());
  return 0;
}
