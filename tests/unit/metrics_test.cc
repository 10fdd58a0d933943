// Pins down that every Ember metric is exported, from start-up, under its
// Prometheus name with the role label, over real HTTP.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "runtime/metrics/metrics.h"

namespace ember {
namespace {

// A plain HTTP/1.0 GET; the server closes the connection after the reply.
std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  EXPECT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return resp;
}

TEST(MetricsTest, ServesEveryFamilyWithRoleLabel) {
  auto m = Metrics::Start("executor", "127.0.0.1", 0);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_GT((*m)->port(), 0);

  (*m)->tasks_started_total->Increment(3);
  (*m)->shuffle_written_bytes_total->Increment(1024);
  (*m)->executors_registered->Set(2);
  (*m)->task_duration_seconds->Observe(0.2);
  (*m)->auth_failures_total->Increment();

  const std::string body = HttpGet((*m)->port(), "/metrics");
  ASSERT_NE(body.find("200 OK"), std::string::npos) << body;
  const struct {
    const char* series;
    const char* value;
  } kExpected[] = {
      {"ember_tasks_started_total{role=\"executor\"}", "3"},
      {"ember_tasks_succeeded_total{role=\"executor\"}", "0"},
      {"ember_tasks_failed_total{role=\"executor\"}", "0"},
      {"ember_task_duration_seconds_count{role=\"executor\"}", "1"},
      {"ember_task_duration_seconds_bucket{role=\"executor\",le=\"0.001\"}", "0"},
      {"ember_task_duration_seconds_bucket{role=\"executor\",le=\"0.25\"}", "1"},
      {"ember_task_duration_seconds_bucket{role=\"executor\",le=\"300\"}", "1"},
      {"ember_shuffle_written_bytes_total{role=\"executor\"}", "1024"},
      {"ember_shuffle_read_bytes_total{role=\"executor\"}", "0"},
      {"ember_records_read_total{role=\"executor\"}", "0"},
      {"ember_records_written_total{role=\"executor\"}", "0"},
      {"ember_executors_registered{role=\"executor\"}", "2"},
      {"ember_active_jobs{role=\"executor\"}", "0"},
      {"ember_active_stages{role=\"executor\"}", "0"},
      {"ember_jobs_succeeded_total{role=\"executor\"}", "0"},
      {"ember_jobs_failed_total{role=\"executor\"}", "0"},
      {"ember_executors_lost_total{role=\"executor\"}", "0"},
      {"ember_auth_failures_total{role=\"executor\"}", "1"},
  };
  for (const auto& e : kExpected) {
    const std::string line = std::string(e.series) + " " + e.value + "\n";
    EXPECT_NE(body.find(line), std::string::npos) << "missing line: " << line;
  }
}

TEST(MetricsTest, NegativePortServesNothing) {
  auto m = Metrics::Start("driver", "127.0.0.1", -1);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->port(), -1);
  (*m)->jobs_succeeded_total->Increment();
  EXPECT_EQ((*m)->jobs_succeeded_total->Value(), 1);
}

TEST(MetricsTest, PortInUseIsUnavailable) {
  auto first = Metrics::Start("driver", "127.0.0.1", 0);
  ASSERT_TRUE(first.ok());
  auto second = Metrics::Start("driver", "127.0.0.1", (*first)->port());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
}

TEST(MetricsTest, UnknownRoleIsRejected) {
  auto m = Metrics::Start("worker", "127.0.0.1", -1);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ember
