// Durations in Go's notation, as Kubernetes components and manifests write
// them: "90s", "5m", "2h30m", "1.5h", "250ms".
//
// Thread-safety: pure function.
#pragma once

#include <chrono>
#include <string_view>

#include "ember/status.h"

namespace ember {

// At least 1 ms and at most 400 days. kInvalidArgument naming `what` (a flag
// or a field) otherwise.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string_view what);

}  // namespace ember
