// Text input, part 1: which files an input pattern names, and how they are
// cut into byte ranges (splits), one per task of a textFile RDD.
//
// A split is a byte range, not a set of lines; LineReader (line_reader.h)
// decides which lines belong to it, so splits can be computed from file sizes
// alone, on the driver, without reading any data.
//
// Thread-safety: all functions are reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ember/status.h"

namespace ember::textio {

struct FileSplit {
  std::string path;
  uint64_t offset = 0;
  uint64_t length = 0;

  friend bool operator==(const FileSplit&, const FileSplit&) = default;
};

// Splits never go below this (unless the file itself is smaller), so that
// per-task overhead stays small next to the work.
inline constexpr uint64_t kMinSplitBytes = uint64_t{1} << 20;
inline constexpr uint64_t kDefaultMaxSplitBytes = uint64_t{64} << 20;

// Expands a comma-separated list of patterns into files, in order:
//   a regular file     -> itself
//   a directory        -> its regular files, skipping names that start with
//                         '.' or '_' (e.g. _SUCCESS, .crc), sorted by name
//   a glob (*, ?, [)   -> its matches (sorted by glob(3)); matched
//                         directories expand as above
// Errors: NOT_FOUND "input path does not exist: <p>", "no files match <glob>",
// "input directory <d> has no files"; INVALID_ARGUMENT for an empty pattern.
Result<std::vector<std::string>> ExpandInputPaths(std::string_view pattern);

// Cuts `files` into splits of about total / min_partitions bytes, capped at
// max_split_bytes and at least kMinSplitBytes. A file's last split may be up
// to 10% longer than the others rather than leaving a tiny tail split. Empty
// files give no split, except that if every file is empty the result is one
// empty split of the first file, so the RDD still has a partition.
// Errors: INVALID_ARGUMENT for no files; the stat error naming the path.
Result<std::vector<FileSplit>> ComputeSplits(const std::vector<std::string>& files,
                                             uint32_t min_partitions,
                                             uint64_t max_split_bytes = kDefaultMaxSplitBytes);

// Splits of fixed-length records (binaryRecords): whole records only, about
// total / min_partitions bytes each, at least kMinSplitBytes rounded to a
// record. Errors: INVALID_ARGUMENT for a record length of 0 or over 1 GiB,
// or a file whose size is not a whole number of records (named, with its
// size); the stat error naming the path.
Result<std::vector<FileSplit>> ComputeRecordSplits(const std::vector<std::string>& files,
                                                   uint64_t record_bytes, uint32_t min_partitions);

// A split as bytes, for task descriptions; DecodeSplit returns DATA_LOSS for
// anything EncodeSplit did not produce.
std::string EncodeSplit(const FileSplit& split);
Result<FileSplit> DecodeSplit(std::string_view bytes);

}  // namespace ember::textio
