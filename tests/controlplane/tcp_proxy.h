// A loopback TCP forwarder that a test can cut and restore.
//
// Tests point a client at the proxy instead of the API server to simulate a
// network partition: Cut() closes the listening socket and every forwarded
// connection (the client sees resets and refused connections), Restore()
// listens again on the same port. TLS passes through untouched, and the
// API server's certificate names 127.0.0.1, so the client verifies it as if
// it were connected directly.
//
// Thread-safety: all methods may be called from any thread; the destructor
// closes everything and joins its threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace ember::kube::testing {

class TcpProxy {
 public:
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // Connections accepted so far.
  int accepted() const { return accepted_.load(); }
  void Cut();
  void Restore();
  // Existing connections stay open but forward nothing more, in either
  // direction (a half-open network path); new connections work normally.
  void Stall();
  // Every connection, existing and new, is accepted but forwards nothing:
  // a partition that drops packets, so requests hang instead of failing.
  void Blackhole();

 private:
  void AcceptLoop();
  void Pump(int client_fd, int epoch);
  bool Listen();

  const int target_port_;
  std::atomic<int> accepted_{0};
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  int listen_fd_ = -1;
  bool cut_ = false;
  // Each connection gets the epoch current when it was accepted; Cut() and
  // Stall() bump it and close or freeze every connection older than that.
  std::atomic<int> epoch_{0};
  std::atomic<int> cut_epoch_{0};
  std::atomic<int> stall_epoch_{0};
  std::atomic<bool> blackhole_{false};
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> pumps_;
  std::thread acceptor_;
};

}  // namespace ember::kube::testing
