// TeraSort: the gensort records of INPUT sorted by their 10-byte keys into
// OUTPUT_DIR; part-00000 holds the smallest keys, and each part is sorted.
//
//   ember-submit --master local-cluster[2,1] libterasort.so INPUT OUTPUT_DIR [PARTITIONS]
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include <ember/ember.h>

#include "gensort_record.h"

namespace {

// Fixed-size arrays rather than strings: a record is sorted and shuffled
// without a single allocation. Unsigned bytes, so that keys order as
// gensort's do (memcmp).
using Key = std::array<uint8_t, terasort::kKeyBytes>;
using Value = std::array<uint8_t, terasort::kRecordBytes - terasort::kKeyBytes>;

}  // namespace

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
      .map([](const std::string& r) {
        std::pair<Key, Value> kv;
        std::memcpy(kv.first.data(), r.data(), kv.first.size());
        std::memcpy(kv.second.data(), r.data() + kv.first.size(), kv.second.size());
        return kv;
      })
      .sortByKey(true, partitions > 0 ? partitions : records.getNumPartitions())
      .map([](const std::pair<Key, Value>& kv) {
        std::string r(terasort::kRecordBytes, '\0');
        std::memcpy(r.data(), kv.first.data(), kv.first.size());
        std::memcpy(r.data() + kv.first.size(), kv.second.data(), kv.second.size());
        return r;
      })
      .saveAsBinaryFile(args[1]);
  std::printf("terasort: sorted %s into %s\n", args[0].c_str(), args[1].c_str());
  return 0;
}
