#include "operator/kube/client/client.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <cpprest/http_client.h>
#include <boost/asio/ssl.hpp>

#include "common/log.h"
#include "operator/kube/config/token_source.h"
#include "operator/kube/core/backoff.h"
#include "operator/kube/core/json_util.h"
#include "operator/kube/core/retry.h"

namespace ember::kube {
namespace {

using nlohmann::json;
namespace http = web::http;
namespace http_client = web::http::client;

constexpr size_t kWatchReadBytes = 64 * 1024;

struct RawResponse {
  int code = 0;
  std::string body;
  std::optional<std::chrono::milliseconds> retry_after;
};

void ConfigureTls(boost::asio::ssl::context& ctx, const ClientConfig& config) {
  if (!config.ca_pem.empty()) {
    // add_certificate_authority takes only the first certificate of a
    // buffer; a kubeconfig CA may be a bundle.
    std::string_view rest = config.ca_pem;
    constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
    while (true) {
      size_t end = rest.find(kEnd);
      if (end == std::string_view::npos) break;
      std::string_view one = rest.substr(0, end + kEnd.size());
      ctx.add_certificate_authority(boost::asio::buffer(one.data(), one.size()));
      rest.remove_prefix(end + kEnd.size());
    }
  }
  if (!config.client_cert_pem.empty()) {
    ctx.use_certificate_chain(
        boost::asio::buffer(config.client_cert_pem.data(), config.client_cert_pem.size()));
    ctx.use_private_key(
        boost::asio::buffer(config.client_key_pem.data(), config.client_key_pem.size()),
        boost::asio::ssl::context::pem);
  }
}

http_client::http_client_config HttpConfig(const ClientConfig& config,
                                           std::chrono::milliseconds timeout) {
  http_client::http_client_config http_config;
  http_config.set_timeout(timeout);
  // Never follow a redirect: it would carry the bearer token (or client
  // certificate) to wherever the Location points. The API server does not
  // redirect; a 3xx comes back to the caller as an error.
  http_config.set_max_redirects(0);
  http_config.set_validate_certificates(!config.insecure_skip_tls_verify);
  http_config.set_ssl_context_callback(
      [config](boost::asio::ssl::context& ctx) { ConfigureTls(ctx, config); });
  return http_config;
}

std::string ExceptionMessage(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Builds a request, turning anything thrown (a JSON library surprise) into
// an error: the client promises never to throw.
template <typename Build>
Result<HttpRequest> Guarded(Build&& build) {
  try {
    return build();
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("building the request: ") + e.what());
  }
}

// Waits `delay` or until `stop` fires.
void SleepUnlessStopped(std::stop_token stop, std::chrono::milliseconds delay) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, stop, delay, [] { return false; });
}

ApiError CancelledError(const HttpRequest& request) {
  ApiError error = TransportError(request.method + " " + request.path + ": cancelled");
  error.code = StatusCode::kCancelled;
  return error;
}

}  // namespace

struct Client::Impl {
  ClientConfig config;
  TokenSource tokens;
  RequestObserver* observer = nullptr;
  std::unique_ptr<http_client::http_client> http;
  // cpprestsdk fixes the timeout per http_client, so calls with a timeout of
  // their own share one client per distinct timeout (in practice one: the
  // leader elector's), keeping its connections alive between calls.
  std::mutex timed_mu;
  std::map<std::chrono::milliseconds, std::unique_ptr<http_client::http_client>> timed;

  http_client::http_client* ClientFor(std::optional<std::chrono::milliseconds> timeout) {
    if (!timeout) return http.get();
    std::lock_guard<std::mutex> lock(timed_mu);
    auto& client = timed[*timeout];
    if (!client) {
      client = std::make_unique<http_client::http_client>(web::uri(config.server),
                                                          HttpConfig(config, *timeout));
    }
    return client.get();
  }

  explicit Impl(ClientConfig c)
      : config(std::move(c)), tokens(config.bearer_token, config.token_file) {}

  Result<http::http_request> Prepare(const HttpRequest& request) {
    http::http_request out{http::method(request.method)};
    out.set_request_uri(web::uri(request.Target()));
    out.headers().add("Accept", "application/json");
    out.headers().add("User-Agent", config.user_agent);
    ASSIGN_OR_RETURN(std::string token, tokens.Token());
    if (!token.empty()) out.headers().add("Authorization", "Bearer " + token);
    if (!request.content_type.empty()) out.set_body(request.body, request.content_type);
    return out;
  }

  void Observe(const HttpRequest& request, int code,
               std::chrono::steady_clock::time_point started) {
    if (observer == nullptr) return;
    observer->OnRequest(
        request.verb, code,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }

  // One attempt, no retries. Exceptions become transport errors.
  ApiResult<RawResponse> SendOnce(const HttpRequest& request, http_client::http_client* client,
                                  std::stop_token stop) {
    pplx::cancellation_token_source cancel;
    std::stop_callback on_stop(stop, [&cancel] { cancel.cancel(); });
    const auto started = std::chrono::steady_clock::now();
    try {
      Result<http::http_request> prepared = Prepare(request);
      if (!prepared.ok()) return ClientError(prepared.status());
      http::http_response response = client->request(*prepared, cancel.get_token()).get();
      RawResponse raw;
      raw.code = response.status_code();
      raw.body = response.extract_utf8string(true).get();
      auto it = response.headers().find("Retry-After");
      if (it != response.headers().end()) raw.retry_after = ParseRetryAfter(it->second);
      Observe(request, raw.code, started);
      return raw;
    } catch (...) {
      Observe(request, 0, started);
      if (stop.stop_requested()) return CancelledError(request);
      return TransportError(request.method + " " + request.path + ": " +
                            ExceptionMessage(std::current_exception()));
    }
  }

  ApiResult<json> Do(const HttpRequest& request, const CallOptions& options) {
    // Made at the first failure: seeding it reads the random device, which
    // is not worth doing for every request that succeeds.
    std::optional<ExponentialBackoff> backoff;
    http_client::http_client* client = ClientFor(options.timeout);
    const int max_retries = options.max_retries.value_or(config.max_retries);
    bool reauthenticated = false;
    for (int attempt = 0;; ++attempt) {
      if (options.stop.stop_requested()) return CancelledError(request);
      ApiResult<RawResponse> sent = SendOnce(request, client, options.stop);
      if (!sent.ok() && sent.error().code != StatusCode::kUnavailable) return sent.error();
      if (sent.ok()) {
        RawResponse& raw = *sent;
        if (raw.code >= 200 && raw.code < 300) {
          if (raw.body.empty()) return json::object();
          json parsed = json::parse(raw.body, nullptr, /*allow_exceptions=*/false);
          if (parsed.is_discarded()) {
            return DecodeError(request.method + " " + request.path +
                               ": response body is not JSON (" + std::to_string(raw.body.size()) +
                               " bytes)");
          }
          // Every API response is an object; callers index into it.
          if (!parsed.is_object()) {
            return DecodeError(request.method + " " + request.path +
                               ": response body is not a JSON object");
          }
          return parsed;
        }
        if (raw.code == 401 && tokens.from_file() && !reauthenticated) {
          // The token may have rotated under us.
          tokens.Invalidate();
          reauthenticated = true;
          --attempt;
          continue;
        }
      }
      const int http_code = sent.ok() ? sent->code : 0;
      if (!backoff) {
        backoff.emplace(ExponentialBackoff::Options{config.retry_min_delay, config.retry_max_delay,
                                                    2.0, 0.5, 0});
      }
      RetryDecision decision = DecideRetry(attempt, max_retries, request.method, http_code,
                                           sent.ok() ? sent->retry_after : std::nullopt, &*backoff);
      if (!decision.retry) {
        if (!sent.ok()) return sent.error();
        return ApiErrorFromResponse(sent->code, sent->body);
      }
      const std::chrono::milliseconds delay = decision.delay;
      EMBER_LOG(kDebug) << "kube: " << request.method << " " << request.path << " failed ("
                        << (sent.ok() ? "HTTP " + std::to_string(http_code) : sent.error().message)
                        << "), retrying in " << delay.count() << " ms";
      SleepUnlessStopped(options.stop, delay);
    }
  }
};

void SkipSystemCaBundle(const ClientConfig& config) {
  if (config.ca_pem.empty()) return;
  ::setenv("SSL_CERT_FILE", "/dev/null", /*overwrite=*/1);
}

Client::Client(PrivateTag, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::FromConfig(ClientConfig config) {
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return InvalidArgumentError("server \"" + config.server + "\" is not an http(s) URL");
  }
  if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
    return InvalidArgumentError("a client certificate needs its key and vice versa");
  }
  if (config.server.rfind("http://", 0) == 0) {
    const char* what = !config.bearer_token.empty()      ? "a bearer token"
                       : !config.token_file.empty()      ? "a token file"
                       : !config.client_cert_pem.empty() ? "a client certificate"
                                                         : nullptr;
    if (what != nullptr) {
      // Anyone on the path would read them; the API server's answer could
      // not be trusted either.
      return InvalidArgumentError(std::string("refusing to send ") + what + " to " + config.server +
                                  " over plain http://; use https://");
    }
  }
  // Apply the TLS material once to a scratch context so that a bad PEM fails
  // here, as a Status, rather than inside every request.
  try {
    boost::asio::ssl::context scratch(boost::asio::ssl::context::tls_client);
    ConfigureTls(scratch, config);
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("TLS material in the client config: ") + e.what());
  }
  auto impl = std::make_unique<Impl>(std::move(config));
  try {
    impl->http = std::make_unique<http_client::http_client>(
        web::uri(impl->config.server), HttpConfig(impl->config, impl->config.request_timeout));
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("server URL: ") + e.what());
  }
  return std::make_unique<Client>(PrivateTag(), std::move(impl));
}

const ClientConfig& Client::config() const {
  return impl_->config;
}

void Client::SetObserver(RequestObserver* observer) {
  impl_->observer = observer;
}

ApiResult<json> Client::Do(const HttpRequest& request) {
  return impl_->Do(request, CallOptions{});
}

ApiResult<json> Client::Do(const HttpRequest& request, const CallOptions& options) {
  return impl_->Do(request, options);
}

ApiResult<json> Client::Get(const GroupVersionResource& gvr, std::string_view ns,
                            std::string_view name, std::string_view subresource) {
  Result<HttpRequest> request = Guarded([&] { return BuildGet(gvr, ns, name, subresource); });
  if (!request.ok()) return request.status();
  return Do(*request);
}

ApiResult<json> Client::List(const GroupVersionResource& gvr, std::string_view ns,
                             const ListOptions& options, std::stop_token stop) {
  Result<HttpRequest> request = Guarded([&] { return BuildList(gvr, ns, options); });
  if (!request.ok()) return request.status();
  CallOptions call;
  call.stop = std::move(stop);
  return Do(*request, call);
}

ApiResult<ListResult> Client::ListAll(const GroupVersionResource& gvr, std::string_view ns,
                                      const ListOptions& options, std::stop_token stop) {
  ListResult result;
  ListOptions page_options = options;
  while (true) {
    ApiResult<json> page = List(gvr, ns, page_options, stop);
    if (!page.ok()) return page.error();
    ++result.pages;
    json& list = *page;
    if (auto items = list.find("items"); items != list.end() && items->is_array()) {
      for (auto& item : *items) result.items.push_back(std::move(item));
    }
    const json& metadata = ObjectAt(list, "metadata");
    std::string next = StringAt(metadata, "continue");
    if (next.empty()) {
      result.resource_version = StringAt(metadata, "resourceVersion");
      return result;
    }
    page_options.continue_token = std::move(next);
    // A continue token already pins the snapshot; resourceVersion must not
    // be sent with it.
    page_options.resource_version.clear();
    page_options.resource_version_match.clear();
  }
}

ApiResult<json> Client::Create(const GroupVersionResource& gvr, std::string_view ns,
                               const json& object) {
  Result<HttpRequest> request = Guarded([&] { return BuildCreate(gvr, ns, object); });
  if (!request.ok()) return request.status();
  return Do(*request);
}

ApiResult<json> Client::Update(const GroupVersionResource& gvr, const json& object) {
  Result<HttpRequest> request = Guarded([&] { return BuildUpdate(gvr, object); });
  if (!request.ok()) return request.status();
  return Do(*request);
}

ApiResult<json> Client::UpdateStatus(const GroupVersionResource& gvr, const json& object) {
  Result<HttpRequest> request = Guarded([&] { return BuildUpdate(gvr, object, "status"); });
  if (!request.ok()) return request.status();
  return Do(*request);
}

ApiResult<json> Client::Delete(const GroupVersionResource& gvr, std::string_view ns,
                               std::string_view name, const DeleteOptions& options) {
  Result<HttpRequest> request = Guarded([&] { return BuildDelete(gvr, ns, name, options); });
  if (!request.ok()) return request.status();
  return Do(*request);
}

ApiResult<json> Client::MergePatch(const GroupVersionResource& gvr, std::string_view ns,
                                   std::string_view name, const json& patch,
                                   std::string_view subresource) {
  Result<HttpRequest> request =
      Guarded([&] { return BuildMergePatch(gvr, ns, name, patch, subresource); });
  if (!request.ok()) return request.status();
  return Do(*request);
}

ApiResult<json> Client::Apply(const GroupVersionResource& gvr, const json& object,
                              const ApplyOptions& options, std::string_view subresource) {
  Result<HttpRequest> request =
      Guarded([&] { return BuildApply(gvr, object, options, subresource); });
  if (!request.ok()) return request.status();
  return Do(*request);
}

ApiResult<WatchEnd> Client::Watch(const GroupVersionResource& gvr, std::string_view ns,
                                  const WatchOptions& options, const WatchCallback& on_event,
                                  std::stop_token stop) {
  Result<HttpRequest> built = Guarded([&] { return BuildWatch(gvr, ns, options); });
  if (!built.ok()) return built.status();
  WatchEventDecoder decoder;
  std::vector<WatchEvent> events;
  std::optional<ApiError> failed;
  ApiResult<WatchEnd> end = Stream(
      *built, std::chrono::seconds(options.timeout_seconds + options.silence_margin_seconds),
      [&](std::string_view data) {
        events.clear();
        Status fed = decoder.Feed(data, &events);
        for (auto& event : events) {
          if (event.type == WatchEventType::kError) {
            failed = ApiErrorFromStatusObject(event.object);
            return false;
          }
          if (!on_event(std::move(event))) return false;
        }
        // Events decoded before the corrupt line were good and were delivered.
        if (!fed.ok()) {
          failed = DecodeError(fed.message());
          return false;
        }
        return true;
      },
      stop);
  if (failed) return *failed;
  if (!end.ok()) return end;
  if (*end == WatchEnd::kServerClosed) {
    Status finished = decoder.Finish();
    if (!finished.ok()) return DecodeError(finished.message());
  }
  return end;
}

ApiResult<WatchEnd> Client::Stream(const HttpRequest& request, std::chrono::seconds silence,
                                   const StreamCallback& on_data, std::stop_token stop) {
  pplx::cancellation_token_source cancel;
  std::stop_callback on_stop(stop, [&cancel] { cancel.cancel(); });
  try {
    // A client of its own: its inactivity timeout is the silence detector,
    // and it must not be the short per-request one.
    http_client::http_client stream_http(web::uri(impl_->config.server),
                                         HttpConfig(impl_->config, silence));
    // Every way out of here (the callback stopping, an exception) must close
    // the connection: otherwise the server keeps streaming into a response
    // nobody reads. Declared after the client, so it cancels before the
    // client goes away.
    struct CancelOnExit {
      pplx::cancellation_token_source& source;
      ~CancelOnExit() { source.cancel(); }
    } cancel_on_exit{cancel};
    Result<http::http_request> prepared = impl_->Prepare(request);
    if (!prepared.ok()) return prepared.status();
    const auto started = std::chrono::steady_clock::now();
    http::http_response response;
    try {
      response = stream_http.request(*prepared, cancel.get_token()).get();
    } catch (...) {
      impl_->Observe(request, 0, started);
      throw;
    }
    impl_->Observe(request, response.status_code(), started);
    if (response.status_code() != 200) {
      if (response.status_code() == 401) impl_->tokens.Invalidate();
      std::string body = response.extract_utf8string(true).get();
      return ApiErrorFromResponse(response.status_code(), body);
    }
    auto buffer = response.body().streambuf();
    std::vector<char> chunk(kWatchReadBytes);
    while (true) {
      if (stop.stop_requested()) return WatchEnd::kCancelled;
      // Block for the first byte, then take whatever else has arrived: this
      // yields data as soon as its chunk lands, without a read per byte.
      size_t n = buffer.getn(reinterpret_cast<uint8_t*>(chunk.data()), 1).get();
      if (n == 0) return WatchEnd::kServerClosed;
      size_t available = std::min(buffer.in_avail(), chunk.size() - 1);
      if (available > 0) {
        // Already buffered, so this completes without waiting.
        n += buffer.getn(reinterpret_cast<uint8_t*>(chunk.data()) + 1, available).get();
      }
      if (!on_data(std::string_view(chunk.data(), n))) return WatchEnd::kStoppedByCaller;
    }
  } catch (...) {
    if (stop.stop_requested()) return WatchEnd::kCancelled;
    return TransportError(request.method + " " + request.path + ": " +
                          ExceptionMessage(std::current_exception()));
  }
}

}  // namespace ember::kube
