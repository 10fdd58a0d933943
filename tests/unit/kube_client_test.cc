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
      (void)!write(client, response_.data(), response_.size());
      close(client);
    }
  }

  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
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
  config.max_retries = 0;
  auto client = Client::FromConfig(config);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ApiResult<nlohmann::json> got = (*client)->Get(resources::ConfigMaps(), "ns", "cm");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().http_code, 302);
  EXPECT_EQ(api.connections(), 1);
  EXPECT_EQ(elsewhere.connections(), 0) << "the client followed a redirect";
}

TEST(KubeClientTest, CredentialsAreNeverSentOverPlainHttp) {
  StubServer api(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\n{}");
  const std::string server = "http://127.0.0.1:" + std::to_string(api.port());
  struct Case {
    const char* what;
    void (*set)(ClientConfig&);
  };
  for (const Case& c : std::vector<Case>{
           {"a bearer token", [](ClientConfig& cfg) { cfg.bearer_token = "secret"; }},
           {"a token file", [](ClientConfig& cfg) { cfg.token_file = "/var/run/token"; }},
           {"a client certificate",
            [](ClientConfig& cfg) {
              cfg.client_cert_pem = "-----BEGIN CERTIFICATE-----";
              cfg.client_key_pem = "-----BEGIN PRIVATE KEY-----";
            }},
       }) {
    ClientConfig config;
    config.server = server;
    c.set(config);
    auto client = Client::FromConfig(config);
    ASSERT_FALSE(client.ok()) << c.what;
    EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(client.status().message(), std::string("refusing to send ") + c.what + " to " +
                                             server + " over plain http://; use https://");
  }
  EXPECT_EQ(api.connections(), 0) << "nothing may reach the server";
}

}  // namespace
}  // namespace ember::kube
