// Timestamps as the Kubernetes API writes them.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>

namespace ember::kube {

// MicroTime: "2026-11-26T19:40:01.123456Z" (Lease renewTime, acquireTime).
std::string FormatMicroTime(std::chrono::system_clock::time_point time);
// Time: "2026-11-26T19:40:01Z" (Event timestamps, most metadata).
std::string FormatTime(std::chrono::system_clock::time_point time);

}  // namespace ember::kube
