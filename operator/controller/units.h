// Sizes, CPU amounts and durations as SparkApplication manifests write them.
//
// Memory takes Spark's notation, as the Kubeflow operator does ("512m" is
// 512 MiB, "2g" 2 GiB; k, m, g, t with an optional b, in either case) and
// Kubernetes' binary forms ("512Mi", "2Gi"). A unit is required: a bare
// number means bytes to Kubernetes but MiB to Spark, and guessing would be
// a 2^20 error. CPU takes Kubernetes quantities ("500m", "2", "2.5").
// Durations take Go's notation ("90s", "5m", "2h30m", "1.5h").
//
// The CRD's patterns accept exactly what these parsers accept; the operator
// parses again so that an object written before a CRD upgrade still fails
// with a message rather than a surprise.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/duration.h"
#include "ember/status.h"

namespace ember::sparkapp {

// Bytes of a memory size; kInvalidArgument naming `field` otherwise.
Result<uint64_t> ParseMemory(std::string_view text, std::string_view field);
// "640Mi" (whole MiB when the size is a multiple of 1 MiB, else bytes): the
// form a pod's resources take.
std::string FormatMemory(uint64_t bytes);

// Millicores of a CPU quantity ("500m" -> 500, "2" -> 2000, "0.25" -> 250).
Result<int64_t> ParseCpuMillis(std::string_view text, std::string_view field);
// "500m", or "2" when whole.
std::string FormatCpuMillis(int64_t millis);

// Durations: ParseDuration in common/duration.h.
using ::ember::ParseDuration;

}  // namespace ember::sparkapp
