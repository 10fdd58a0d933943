// A small HTTP server on civetweb: the driver's web UI and REST API, and
// the operator's /metrics and probes.
//
// civetweb is the server prometheus-cpp's exposer already loads into every
// Ember process, so serving HTTP adds no library. It bounds what a client can
// make it hold: a request's head is at most 16 KiB (civetweb answers 413
// past it), a slow client is dropped after 10 s, and at most 4 requests are
// served at once (more wait in the accept queue).
//
// Thread-safety: the handler runs on civetweb's threads, concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ember/status.h"

namespace ember {

struct HttpRequest {
  std::string method;
  std::string path;        // percent-decoded
  std::string query;       // as sent, without the '?'
  size_t target_size = 0;  // of the request target as sent
};

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
  using Handler = std::function<HttpReply(const HttpRequest&)>;
  // Listens on bind_address:port (0: any free port). UNAVAILABLE naming the
  // address when it cannot listen there (the port is taken).
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& bind_address, int port,
                                                   Handler handler);
  HttpServer(PrivateTag, std::unique_ptr<Impl> impl);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  int port() const;

 private:
  std::unique_ptr<Impl> impl_;
};

// A handler serving fixed paths: GET or HEAD of a path in `routes` gets its
// reply, another path 404, another method 405.
HttpServer::Handler ServeExactPaths(std::map<std::string, std::function<HttpReply()>> routes);

// Splits a query string into its decoded key=value pairs, in order.
std::vector<std::pair<std::string, std::string>> ParseQuery(const std::string& query);

}  // namespace ember
