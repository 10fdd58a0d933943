// Client behaviour that needs no API server: a plain-socket HTTP stub.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "operator/kube/client/client.h"

namespace ember::kube {
namespace {

// Listens on a loopback port; answers each connection with `response` and
// counts connections and requests carrying an Authorization header.
class StubServer {
 public:
  explicit StubServer(std::string response) : response_(std::move(response)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd_, 8) != 0) {
      ADD_FAILURE() << "stub server cannot listen";
    }
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~StubServer() {
    stopping_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  int connections() const { return connections_.load(); }
  int with_authorization() const { return with_authorization_.load(); }

 private:
  void Serve() {
    while (!stopping_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int client = accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      ++connections_;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(client, buffer, sizeof(buffer));
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      if (request.find("Authorization:") != std::string::npos) ++with_authorization_;
      (void)!write(client, response_.data(), response_.size());
      close(client);
    }
  }

  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> with_authorization_{0};
  std::thread thread_;
};

TEST(KubeClientTest, RedirectsAreNotFollowed) {
  StubServer elsewhere(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\n{}");
  StubServer api(
      "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:" + std::to_string(elsewhere.port()) +
      "/steal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  ClientConfig config;
  config.server = "http://127.0.0.1:" + std::to_string(api.port());
  config.bearer_token = "secret";
  config.max_retries = 0;
  auto client = Client::FromConfig(config);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ApiResult<nlohmann::json> got = (*client)->Get(resources::ConfigMaps(), "ns", "cm");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().http_code, 302);
  EXPECT_EQ(api.with_authorization(), 1);
  EXPECT_EQ(elsewhere.connections(), 0) << "the token followed a redirect";
}

}  // namespace
}  // namespace ember::kube
