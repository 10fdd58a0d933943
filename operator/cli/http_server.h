// A small HTTP server for the operator's /metrics and probes, on
// cpprestsdk's listener.
//
// Each path maps to a handler returning the status, content type and body;
// other paths get 404, other methods 405. The listener stops at once on
// destruction, so the operator exits within moments of SIGTERM.
//
// Thread-safety: handlers run on the listener's threads, concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "ember/status.h"

namespace ember::operator_cli {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };
  struct Impl;

 public:
  // For the factory only (the tag is private).
  HttpServer(PrivateTag, std::unique_ptr<Impl> impl);
  using Handler = std::function<HttpReply()>;
  // Listens on bind_address:port; kUnavailable when the port is taken.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& bind_address, int port,
                                                   std::map<std::string, Handler> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember::operator_cli
