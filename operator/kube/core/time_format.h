// Timestamps as the Kubernetes API writes them.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ember::kube {

// MicroTime: "2026-11-26T19:40:01.123456Z" (Lease renewTime, acquireTime).
std::string FormatMicroTime(std::chrono::system_clock::time_point time);
// Time: "2026-11-26T19:40:01Z" (Event timestamps, most metadata).
std::string FormatTime(std::chrono::system_clock::time_point time);
// Parses RFC 3339 as the API writes it: "2026-11-26T19:40:01Z", with an
// optional fraction of a second and a "Z" or "+hh:mm" offset. nullopt on
// anything else.
std::optional<std::chrono::system_clock::time_point> ParseTime(std::string_view text);

}  // namespace ember::kube
