#include "operator/cli/http_server.h"

#include <cpprest/http_listener.h>

namespace ember::operator_cli {

namespace http = web::http;

struct HttpServer::Impl {
  std::unique_ptr<http::experimental::listener::http_listener> listener;
  std::map<std::string, Handler> routes;
};

HttpServer::HttpServer(PrivateTag, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  try {
    impl_->listener->close().wait();
  } catch (const std::exception&) {
    // Closing a listener that failed is not worth a crash at exit.
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& bind_address, int port,
                                                      std::map<std::string, Handler> routes) {
  auto impl = std::make_unique<Impl>();
  impl->routes = std::move(routes);
  const std::string host =
      bind_address.find(':') != std::string::npos ? "[" + bind_address + "]" : bind_address;
  const std::string url = "http://" + host + ":" + std::to_string(port);
  try {
    impl->listener = std::make_unique<http::experimental::listener::http_listener>(web::uri(url));
    const Impl* raw = impl.get();
    impl->listener->support([raw](const http::http_request& request) {
      if (request.method() != http::methods::GET && request.method() != http::methods::HEAD) {
        request.reply(http::status_codes::MethodNotAllowed, "only GET\n");
        return;
      }
      auto route = raw->routes.find(request.relative_uri().path());
      if (route == raw->routes.end()) {
        request.reply(http::status_codes::NotFound, "not found\n");
        return;
      }
      HttpReply reply;
      try {
        reply = route->second();
      } catch (const std::exception& e) {
        reply = HttpReply{500, "text/plain; charset=utf-8",
                          std::string("internal error: ") + e.what() + "\n"};
      }
      request.reply(static_cast<http::status_code>(reply.status), reply.body, reply.content_type);
    });
    impl->listener->open().wait();
  } catch (const std::exception& e) {
    return UnavailableError("serving HTTP on " + url + ": " + e.what());
  }
  return std::make_unique<HttpServer>(PrivateTag(), std::move(impl));
}

}  // namespace ember::operator_cli
