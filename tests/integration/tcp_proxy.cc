// A real TCP proxy for the network-fault tests: forwards every connection
// made to its port to --target, at most --rate bytes per second in each
// direction, and optionally stops forwarding for --stall-ms once
// --stall-after bytes have gone from the target to clients (a link that
// freezes, as a congested or partitioned network does).
//
//   tcp_proxy --target HOST:PORT --rate BYTES [--stall-after BYTES --stall-ms MS]
//
// Prints "listening on PORT" on stdout once it accepts connections.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kBufferBytes = 64 * 1024;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "tcp_proxy: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

int Connect(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return -1;
  const int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    ::close(fd);
    freeaddrinfo(res);
    return -1;
  }
  freeaddrinfo(res);
  return fd;
}

// One direction of one connection.
struct Pipe {
  int from = -1;
  int to = -1;
  std::string buffer;
  bool eof = false;
  bool down = false;  // target -> client
};

struct Connection {
  Pipe up;    // client -> target
  Pipe down;  // target -> client
  bool closed = false;
  ~Connection() {
    if (up.from >= 0) ::close(up.from);
    if (down.from >= 0) ::close(down.from);
  }
};

// Token bucket: `rate` bytes a second, bursts of at most a tenth of that.
class Bucket {
 public:
  explicit Bucket(double rate) : rate_(rate), tokens_(rate / 10) {}
  void Refill(Clock::time_point now) {
    const double dt = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(rate_ / 10, tokens_ + rate_ * dt);
  }
  size_t Available() const { return tokens_ < 1 ? 0 : static_cast<size_t>(tokens_); }
  void Take(size_t n) { tokens_ -= static_cast<double>(n); }

 private:
  double rate_;
  double tokens_;
  Clock::time_point last_ = Clock::now();
};

}  // namespace

int main(int argc, char** argv) {
  std::string target;
  double rate = 1e12;
  long long stall_after = -1;
  long long stall_ms = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--target") {
      target = value;
    } else if (flag == "--rate") {
      rate = std::stod(value);
    } else if (flag == "--stall-after") {
      stall_after = std::stoll(value);
    } else if (flag == "--stall-ms") {
      stall_ms = std::stoll(value);
    } else {
      std::fprintf(stderr, "tcp_proxy: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "usage: tcp_proxy --target HOST:PORT --rate BYTES\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) Die("socket");
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("bind");
  if (::listen(listener, 64) != 0) Die("listen");
  socklen_t len = sizeof(addr);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("listening on %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  std::vector<std::unique_ptr<Connection>> conns;
  Bucket up_bucket(rate), down_bucket(rate);
  long long forwarded_down = 0;
  bool stalled = false;
  bool stall_done = false;
  Clock::time_point stall_until;

  for (;;) {
    const Clock::time_point now = Clock::now();
    up_bucket.Refill(now);
    down_bucket.Refill(now);
    if (stalled && now >= stall_until) {
      stalled = false;
      stall_done = true;
      std::fprintf(stderr, "tcp_proxy: forwarding again\n");
    }
    std::vector<pollfd> fds;
    fds.push_back({listener, POLLIN, 0});
    struct Slot {
      Pipe* pipe;
      bool read;
    };
    std::vector<Slot> slots;
    for (auto& c : conns) {
      for (Pipe* p : {&c->up, &c->down}) {
        if (!p->eof && p->buffer.size() < kBufferBytes) {
          fds.push_back({p->from, POLLIN, 0});
          slots.push_back({p, true});
        }
        const bool may_send = !(p == &c->down && stalled);
        if (!p->buffer.empty() && may_send) {
          fds.push_back({p->to, POLLOUT, 0});
          slots.push_back({p, false});
        }
      }
    }
    ::poll(fds.data(), fds.size(), 5);
    if (fds[0].revents & POLLIN) {
      const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        const int upstream = Connect(target.substr(0, colon), target.substr(colon + 1));
        if (upstream < 0) {
          ::close(client);
        } else {
          ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          ::setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          auto c = std::make_unique<Connection>();
          c->up.from = client;
          c->up.to = upstream;
          c->down.from = upstream;
          c->down.to = client;
          c->down.down = true;
          conns.push_back(std::move(c));
        }
      }
    }
    for (size_t i = 0; i < slots.size(); ++i) {
      const pollfd& f = fds[i + 1];
      Pipe& p = *slots[i].pipe;
      if (slots[i].read && (f.revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[kBufferBytes];
        const ssize_t n = ::read(p.from, buf, kBufferBytes - p.buffer.size());
        if (n <= 0) {
          p.eof = true;
        } else {
          p.buffer.append(buf, static_cast<size_t>(n));
        }
      } else if (!slots[i].read && (f.revents & POLLOUT)) {
        const bool down = p.down;
        Bucket& b = down ? down_bucket : up_bucket;
        size_t n = std::min(p.buffer.size(), b.Available());
        if (down && stall_after >= 0 && !stall_done) {
          n = static_cast<size_t>(
              std::min<long long>(static_cast<long long>(n), stall_after - forwarded_down));
        }
        if (n == 0) {
          if (down && stall_after >= 0 && !stall_done && !stalled &&
              forwarded_down >= stall_after) {
            stalled = true;
            stall_until = Clock::now() + std::chrono::milliseconds(stall_ms);
            std::fprintf(stderr, "tcp_proxy: stalling after %lld bytes\n", forwarded_down);
          }
          continue;
        }
        const ssize_t w = ::write(p.to, p.buffer.data(), n);
        if (w > 0) {
          b.Take(static_cast<size_t>(w));
          p.buffer.erase(0, static_cast<size_t>(w));
          if (down) forwarded_down += w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          p.eof = true;
          p.buffer.clear();
        }
      }
    }
    // A direction whose source ended and whose buffer drained half-closes;
    // a connection with both directions done goes away.
    for (auto& c : conns) {
      for (Pipe* p : {&c->up, &c->down}) {
        if (p->eof && p->buffer.empty()) ::shutdown(p->to, SHUT_WR);
      }
      if (c->up.eof && c->down.eof && c->up.buffer.empty() && c->down.buffer.empty()) {
        c->closed = true;
      }
    }
    conns.erase(std::remove_if(conns.begin(), conns.end(), [](const auto& c) { return c->closed; }),
                conns.end());
  }
}
