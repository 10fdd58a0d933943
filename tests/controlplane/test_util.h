// Small helpers shared by the control-plane tests.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace ember::kube::testing {

inline nlohmann::json ConfigMap(const std::string& ns, const std::string& name,
                                const nlohmann::json& data = nlohmann::json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", data}};
}

// Polls `condition` every 50 ms until it holds or `timeout` passes. Not a
// timing assertion: the timeout only bounds how long a broken build hangs.
inline bool Eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

}  // namespace ember::kube::testing
