#include "tests/controlplane/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace ember::kube::testing {
namespace {

constexpr int kPollMillis = 50;

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Copies what is readable from `from` to `to`; false on EOF or error.
bool Forward(int from, int to) {
  char buffer[16384];
  ssize_t n = read(from, buffer, sizeof(buffer));
  if (n <= 0) return false;
  ssize_t sent = 0;
  while (sent < n) {
    ssize_t w = send(to, buffer + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
    if (w <= 0) return false;
    sent += w;
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  if (!Listen()) throw std::runtime_error("tcp proxy: cannot listen");
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  acceptor_.join();
  std::vector<std::thread> pumps;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pumps.swap(pumps_);
  }
  for (auto& t : pumps) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

bool TcpProxy::Listen() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = Loopback(port_);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return false;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
  return true;
}

void TcpProxy::Cut() {
  std::unique_lock<std::mutex> lock(mu_);
  cut_ = true;
  cut_epoch_ = ++epoch_;
  cv_.wait(lock, [this] { return listen_fd_ < 0; });
}

void TcpProxy::Restore() {
  std::unique_lock<std::mutex> lock(mu_);
  cut_ = false;
  cv_.wait(lock, [this] { return listen_fd_ >= 0; });
}

void TcpProxy::Stall() {
  stall_epoch_ = ++epoch_;
}

void TcpProxy::Blackhole() {
  blackhole_ = true;
}

void TcpProxy::AcceptLoop() {
  while (!stopping_) {
    int fd;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cut_ && listen_fd_ >= 0) {
        close(listen_fd_);
        listen_fd_ = -1;
        cv_.notify_all();
      } else if (!cut_ && listen_fd_ < 0) {
        // The same port again; it may take a few tries while old
        // connections linger.
        if (Listen()) cv_.notify_all();
      }
      fd = listen_fd_;
    }
    if (fd < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMillis));
      continue;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kPollMillis) <= 0) continue;
    int client = accept(fd, nullptr, nullptr);
    if (client < 0) continue;
    ++accepted_;
    const int epoch = epoch_.load();
    std::lock_guard<std::mutex> lock(mu_);
    pumps_.emplace_back([this, client, epoch] { Pump(client, epoch); });
  }
}

void TcpProxy::Pump(int client_fd, int epoch) {
  int upstream = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = Loopback(target_port_);
  if (upstream < 0 || connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (upstream >= 0) close(upstream);
    close(client_fd);
    return;
  }
  pollfd fds[2] = {{client_fd, POLLIN, 0}, {upstream, POLLIN, 0}};
  while (!stopping_ && epoch >= cut_epoch_.load()) {
    if (blackhole_.load() || epoch < stall_epoch_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMillis));
      continue;
    }
    int ready = poll(fds, 2, kPollMillis);
    if (ready < 0 && errno != EINTR) break;
    // Re-checked after the wait: data that arrived after Stall() must stay put.
    if (ready <= 0 || blackhole_.load() || epoch < stall_epoch_.load()) continue;
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && !Forward(client_fd, upstream)) break;
    if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && !Forward(upstream, client_fd)) break;
  }
  // A reset rather than a clean close, as a broken network would look.
  linger reset{1, 0};
  setsockopt(client_fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close(client_fd);
  close(upstream);
}

}  // namespace ember::kube::testing
