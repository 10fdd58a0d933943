#include "operator/cli/url_check.h"

#include <thread>

#include <cpprest/http_client.h>

namespace ember::operator_cli {

Status CheckUrl(const std::string& url, const std::string& contains,
                std::chrono::milliseconds timeout) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return InvalidArgumentError("--check-url '" + url + "' must start with http:// or https://");
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no attempt finished";
  while (true) {
    try {
      web::http::client::http_client_config config;
      config.set_timeout(std::chrono::seconds(5));
      web::http::client::http_client client(utility::conversions::to_string_t(url), config);
      web::http::http_response response = client.request(web::http::methods::GET).get();
      const std::string body = response.extract_utf8string(true).get();
      if (response.status_code() == web::http::status_codes::OK) {
        if (body.find(contains) != std::string::npos) return Status::Ok();
        last = "answered 200 without '" + contains + "'";
      } else {
        last = "answered HTTP " + std::to_string(response.status_code());
      }
    } catch (const std::exception& e) {
      // cpprestsdk reports connection and protocol failures by throwing.
      last = e.what();
    }
    if (std::chrono::steady_clock::now() + std::chrono::seconds(1) > deadline) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::string message = url;
  message += " was not ready within ";
  message += std::to_string(timeout.count() / 1000);
  message += " s: ";
  message += last;
  return UnavailableError(std::move(message));
}

}  // namespace ember::operator_cli
