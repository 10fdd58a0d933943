#include "operator/cli/health_server.h"

#include <cpprest/http_listener.h>

namespace ember::operator_cli {

namespace http = web::http;

struct HealthServer::Impl {
  std::unique_ptr<http::experimental::listener::http_listener> listener;
  std::function<bool()> ready;
};

HealthServer::HealthServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HealthServer::~HealthServer() {
  try {
    impl_->listener->close().wait();
  } catch (const std::exception&) {
    // Closing a listener that failed is not worth a crash at exit.
  }
}

Result<std::unique_ptr<HealthServer>> HealthServer::Start(const std::string& bind_address, int port,
                                                          std::function<bool()> ready) {
  auto impl = std::make_unique<Impl>();
  impl->ready = std::move(ready);
  const std::string host = bind_address.find(':') != std::string::npos ? "[" + bind_address + "]" : bind_address;
  const std::string url = "http://" + host + ":" + std::to_string(port);
  try {
    impl->listener = std::make_unique<http::experimental::listener::http_listener>(web::uri(url));
    Impl* raw = impl.get();
    impl->listener->support(http::methods::GET, [raw](const http::http_request& request) {
      const std::string path = request.relative_uri().path();
      if (path == "/healthz") {
        request.reply(http::status_codes::OK, "ok\n");
      } else if (path == "/readyz") {
        const bool ok = raw->ready && raw->ready();
        request.reply(ok ? http::status_codes::OK : http::status_codes::ServiceUnavailable,
                      ok ? "ok\n" : "caches not synced\n");
      } else {
        request.reply(http::status_codes::NotFound, "not found\n");
      }
    });
    impl->listener->open().wait();
  } catch (const std::exception& e) {
    return UnavailableError("serving health checks on " + url + ": " + e.what());
  }
  return std::unique_ptr<HealthServer>(new HealthServer(std::move(impl)));
}

}  // namespace ember::operator_cli
