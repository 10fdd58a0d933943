// /healthz and /readyz for the kubelet's probes, on a port of their own.
//
//   /healthz  200 while the process serves requests at all (liveness).
//   /readyz   200 once `ready()` holds (the caches have synced), else 503.
// Anything else is 404. Served by cpprestsdk's HTTP listener.
//
// Thread-safety: `ready` is called on the listener's threads.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace ember::operator_cli {

class HealthServer {
 public:
  static Result<std::unique_ptr<HealthServer>> Start(const std::string& bind_address, int port,
                                                     std::function<bool()> ready);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

 private:
  struct Impl;
  explicit HealthServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember::operator_cli
