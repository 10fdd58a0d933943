#include "common/listener_wake.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

namespace ember {

namespace {

// One connection attempt to host:port, dropped at once.
void Poke(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return;
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  (void)::connect(fd, found->ai_addr, found->ai_addrlen);
  ::close(fd);
}

}  // namespace

std::string WakeHost(const std::string& bind_address) {
  if (bind_address == "0.0.0.0" || bind_address.empty()) return "127.0.0.1";
  if (bind_address == "::") return "::1";
  return bind_address;
}

void StopWhileWaking(const std::string& host, int port, const std::function<void()>& stop) {
  std::atomic<bool> stopped{false};
  std::thread waker([&] {
    while (!stopped.load()) {
      Poke(host, port);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  stop();
  stopped = true;
  waker.join();
}

}  // namespace ember
