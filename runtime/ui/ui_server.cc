#include "runtime/ui/ui_server.h"

#include <charconv>

#include "common/log.h"
#include "runtime/ui/assets.h"

namespace ember::ui {

using nlohmann::json;

namespace {

HttpReply JsonReply(int status, const json& body) {
  return HttpReply{status, "application/json",
                   body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"};
}

HttpReply ErrorReply(int status, const std::string& message) {
  return JsonReply(status, json{{"error", message}});
}

HttpReply FromResult(const Result<json>& result) {
  if (result.ok()) return JsonReply(200, *result);
  const int status = result.status().code() == StatusCode::kNotFound ? 404 : 400;
  return ErrorReply(status, result.status().message());
}

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> parts;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.emplace_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

// A decimal number of at most `max`; INVALID_ARGUMENT naming `what`.
Result<uint64_t> ParseNumber(const std::string& text, const std::string& what, uint64_t max) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || p != end || value > max) {
    std::string shown = text.size() > 40 ? text.substr(0, 40) + "..." : text;
    return InvalidArgumentError(what + " \"" + shown + "\" is not a number from 0 to " +
                                std::to_string(max));
  }
  return value;
}

struct Query {
  std::vector<std::pair<std::string, std::string>> params;
  std::string Get(const std::string& key) const {
    for (const auto& [k, v] : params) {
      if (k == key) return v;
    }
    return "";
  }
  bool Has(const std::string& key) const {
    for (const auto& [k, v] : params) {
      if (k == key) return true;
    }
    return false;
  }
};

Result<std::vector<double>> ParseQuantiles(const std::string& text) {
  std::vector<double> out;
  std::string_view rest(text);
  while (true) {
    const size_t comma = rest.find(',');
    const std::string part(rest.substr(0, comma));
    double q = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), q);
    if (part.empty() || ec != std::errc() || p != part.data() + part.size() || !(q >= 0) ||
        !(q <= 1)) {
      return InvalidArgumentError("quantiles: \"" + part.substr(0, 40) +
                                  "\" is not a number from 0 to 1");
    }
    out.push_back(q);
    if (out.size() > 20) return InvalidArgumentError("quantiles: at most 20");
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

HttpReply AppRequest(const AppStore& app, const std::vector<std::string>& parts,
                     const Query& query) {
  const size_t n = parts.size();
  const std::string& what = n > 2 ? parts[2] : std::string();
  if (n == 2) return JsonReply(200, app.Application());
  if (what == "jobs" && n == 3) return FromResult(app.Jobs(query.Get("status")));
  if (what == "jobs" && n == 4) {
    auto id = ParseNumber(parts[3], "job id", UINT32_MAX);
    if (!id.ok()) return ErrorReply(400, id.status().message());
    return FromResult(app.Job(static_cast<uint32_t>(*id)));
  }
  if (what == "stages" && n == 3) return FromResult(app.Stages(query.Get("status")));
  if (what == "stages" && n >= 4 && n <= 6) {
    auto id = ParseNumber(parts[3], "stage id", UINT32_MAX);
    if (!id.ok()) return ErrorReply(400, id.status().message());
    const auto stage = static_cast<uint32_t>(*id);
    if (n == 4) return FromResult(app.StageAttempts(stage));
    auto attempt = ParseNumber(parts[4], "stage attempt id", UINT32_MAX);
    if (!attempt.ok()) return ErrorReply(400, attempt.status().message());
    const auto a = static_cast<uint32_t>(*attempt);
    if (n == 5) return FromResult(app.StageAttempt(stage, a));
    if (parts[5] == "taskSummary") {
      std::vector<double> quantiles = {0.05, 0.25, 0.5, 0.75, 0.95};
      if (query.Has("quantiles")) {
        auto parsed = ParseQuantiles(query.Get("quantiles"));
        if (!parsed.ok()) return ErrorReply(400, parsed.status().message());
        quantiles = *parsed;
      }
      return FromResult(app.TaskSummary(stage, a, quantiles));
    }
    if (parts[5] == "taskList") {
      uint64_t offset = 0, length = 20;
      if (query.Has("offset")) {
        auto v = ParseNumber(query.Get("offset"), "offset", UINT32_MAX);
        if (!v.ok()) return ErrorReply(400, v.status().message());
        offset = *v;
      }
      if (query.Has("length")) {
        auto v = ParseNumber(query.Get("length"), "length", 10000);
        if (!v.ok()) return ErrorReply(400, v.status().message());
        length = *v;
      }
      return FromResult(app.TaskList(stage, a, offset, length));
    }
  }
  if (what == "executors" && n == 3) return JsonReply(200, app.Executors(false));
  if (what == "allexecutors" && n == 3) return JsonReply(200, app.Executors(true));
  if (what == "environment" && n == 3) return JsonReply(200, app.Environment());
  return ErrorReply(404, "no such API path; see docs/ui.md for the paths");
}

}  // namespace

HttpReply HandleUiRequest(AppSource& source, const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return ErrorReply(405, "method " + request.method.substr(0, 20) + " is not allowed; only GET");
  }
  if (request.target_size > kMaxTargetBytes) {
    return ErrorReply(414, "the request target is " + std::to_string(request.target_size) +
                               " bytes, more than " + std::to_string(kMaxTargetBytes));
  }
  if (const Asset* asset = FindAsset(request.path)) {
    return HttpReply{200, std::string(asset->content_type), std::string(asset->data)};
  }
  const std::vector<std::string> all = Split(request.path);
  if (all.size() < 2 || all[0] != "api" || all[1] != "v1") {
    return HttpReply{404, "text/plain; charset=utf-8", "not found\n"};
  }
  const std::vector<std::string> parts(all.begin() + 2, all.end());
  if (parts.empty() || parts[0] != "applications") {
    return ErrorReply(404, "no such API path; see docs/ui.md for the paths");
  }
  if (parts.size() == 1) {
    return JsonReply(200, source.Applications());
  }
  auto app = source.Find(parts[1]);
  if (app == nullptr) {
    const std::string shown = parts[1].size() > 80 ? parts[1].substr(0, 80) + "..." : parts[1];
    return ErrorReply(404, "unknown application " + shown);
  }
  return AppRequest(*app, parts, Query{ParseQuery(request.query)});
}

Result<std::unique_ptr<HttpServer>> StartUiServer(const std::string& bind_address, int port,
                                                  int retries, std::shared_ptr<AppSource> source) {
  auto handler = [source](const HttpRequest& request) { return HandleUiRequest(*source, request); };
  Status last;
  for (int i = 0; i <= retries; ++i) {
    auto server = HttpServer::Start(bind_address, port + i, handler);
    if (server.ok()) return server;
    last = server.status();
    if (port == 0) break;
  }
  return last;
}

}  // namespace ember::ui
