// TeraSort: the gensort records of INPUT sorted by their 10-byte keys into
// OUTPUT_DIR; part-00000 holds the smallest keys, and each part is sorted.
//
//   ember-submit --master local-cluster[2,1] libterasort.so INPUT OUTPUT_DIR [PARTITIONS]
#include <cstdio>
#include <string>
#include <utility>

#include <ember/ember.h>

#include "gensort_record.h"

EMBER_APPLICATION(ctx, args) {
  if (args.size() < 2 || args.size() > 3) {
    std::fprintf(stderr, "usage: terasort INPUT OUTPUT_DIR [PARTITIONS]\n");
    return 2;
  }
  uint32_t partitions = 0;
  if (args.size() > 2) {
    try {
      partitions = static_cast<uint32_t>(std::stoul(args[2]));
    } catch (const std::exception&) {
      partitions = 0;
    }
    if (partitions == 0) {
      std::fprintf(stderr, "terasort: PARTITIONS must be a positive integer\n");
      return 2;
    }
  }
  auto records = ctx.binaryRecords(args[0], terasort::kRecordBytes);
  records
      .map([](std::string r) {
        std::string value = r.substr(terasort::kKeyBytes);
        r.resize(terasort::kKeyBytes);
        return std::pair<std::string, std::string>(std::move(r), std::move(value));
      })
      .sortByKey(true, partitions > 0 ? partitions : records.getNumPartitions())
      .map([](std::pair<std::string, std::string> kv) { return kv.first + kv.second; })
      .saveAsBinaryFile(args[1]);
  std::printf("terasort: sorted %s into %s\n", args[0].c_str(), args[1].c_str());
  return 0;
}
