#include "common/http_server.h"

#include <civetweb.h>

#include <cctype>
#include <cstring>
#include <vector>

#include "common/listener_wake.h"

namespace ember {

struct HttpServer::Impl {
  Handler handler;
  mg_context* context = nullptr;
  int port = 0;
  std::string wake_host;
};

namespace {

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

int Serve(mg_connection* conn, void* data) {
  const auto* handler = static_cast<const HttpServer::Handler*>(data);
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest request;
  request.method = info->request_method != nullptr ? info->request_method : "";
  request.path = info->local_uri != nullptr ? info->local_uri : "";
  request.query = info->query_string != nullptr ? info->query_string : "";
  request.target_size =
      (info->request_uri != nullptr ? std::strlen(info->request_uri) : 0) + request.query.size();
  HttpReply reply;
  try {
    reply = (*handler)(request);
  } catch (const std::exception& e) {
    reply = HttpReply{500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what()};
  }
  const std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " " + Reason(reply.status) +
                           "\r\nContent-Type: " + reply.content_type +
                           "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                           "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n";
  mg_write(conn, head.data(), head.size());
  if (request.method != "HEAD") mg_write(conn, reply.body.data(), reply.body.size());
  return reply.status;
}

}  // namespace

HttpServer::HttpServer(PrivateTag, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  if (impl_->context == nullptr) return;
  StopWhileWaking(impl_->wake_host, impl_->port, [this] { mg_stop(impl_->context); });
}

int HttpServer::port() const {
  return impl_->port;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& bind_address, int port,
                                                      Handler handler) {
  auto impl = std::make_unique<Impl>();
  impl->handler = std::move(handler);
  const std::string host =
      bind_address.find(':') != std::string::npos ? "[" + bind_address + "]" : bind_address;
  const std::string listen = host + ":" + std::to_string(port);
  const char* options[] = {"listening_ports",
                           listen.c_str(),
                           "num_threads",
                           "4",
                           "request_timeout_ms",
                           "10000",
                           "max_request_size",
                           "16384",
                           "enable_keep_alive",
                           "yes",
                           "keep_alive_timeout_ms",
                           "5000",
                           nullptr};
  mg_callbacks callbacks{};
  // civetweb prints its errors to stderr by default; they come back below.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.configuration_options = options;
  char text[256] = {};
  unsigned code = 0;
  mg_error_data error{};
  error.code = &code;
  error.text = text;
  error.text_buffer_size = sizeof(text);
  impl->context = mg_start2(&init, &error);
  if (impl->context == nullptr) {
    return UnavailableError("serving HTTP on " + listen + ": " +
                            (text[0] != '\0' ? std::string(text) : "cannot listen"));
  }
  mg_set_request_handler(impl->context, "/", Serve, &impl->handler);
  mg_server_port ports[4];
  const int n = mg_get_server_ports(impl->context, 4, ports);
  impl->port = n > 0 ? ports[0].port : port;
  impl->wake_host = WakeHost(bind_address);
  return std::make_unique<HttpServer>(PrivateTag(), std::move(impl));
}

std::vector<std::pair<std::string, std::string>> ParseQuery(const std::string& query) {
  auto decode = [](std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      const char c = in[i];
      if (c == '+') {
        out.push_back(' ');
      } else if (c == '%' && i + 2 < in.size() &&
                 std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
        out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(c);
      }
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view rest(query);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(decode(part), std::string());
    } else {
      out.emplace_back(decode(part.substr(0, eq)), decode(part.substr(eq + 1)));
    }
  }
  return out;
}

HttpServer::Handler ServeExactPaths(std::map<std::string, std::function<HttpReply()>> routes) {
  return [routes = std::move(routes)](const HttpRequest& request) {
    if (request.method != "GET" && request.method != "HEAD") {
      return HttpReply{405, "text/plain; charset=utf-8", "only GET\n"};
    }
    auto route = routes.find(request.path);
    if (route == routes.end()) return HttpReply{404, "text/plain; charset=utf-8", "not found\n"};
    return route->second();
  };
}

}  // namespace ember
