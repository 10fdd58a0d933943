#include "runtime/driver/master.h"

#include <charconv>
#include <thread>
#include <vector>

namespace ember {
namespace {

constexpr uint32_t kMaxCount = 4096;

Status BadMaster(std::string_view text, std::string_view why) {
  return InvalidArgumentError("invalid --master '" + std::string(text) + "': " + std::string(why) +
                              " (expected local, local[N], local[*], local-cluster[E,C] or "
                              "external[E])");
}

bool ParseCount(std::string_view s, uint32_t* out) {
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v == 0 || v > kMaxCount) return false;
  *out = v;
  return true;
}

// "name[a,b,...]" -> the fields, or false.
bool Bracketed(std::string_view text, std::string_view name, std::vector<std::string_view>* out) {
  if (text.size() < name.size() + 2 || text.substr(0, name.size()) != name ||
      text[name.size()] != '[' || text.back() != ']') {
    return false;
  }
  std::string_view inner = text.substr(name.size() + 1, text.size() - name.size() - 2);
  out->clear();
  for (;;) {
    size_t comma = inner.find(',');
    out->push_back(inner.substr(0, comma));
    if (comma == std::string_view::npos) break;
    inner.remove_prefix(comma + 1);
  }
  return true;
}

}  // namespace

Result<Master> ParseMaster(std::string_view text) {
  Master m;
  m.text = std::string(text);
  std::vector<std::string_view> fields;
  if (text == "local") return m;
  if (Bracketed(text, "local", &fields)) {
    if (fields.size() != 1) return BadMaster(text, "local takes one thread count");
    if (fields[0] == "*") {
      m.threads = std::max(1u, std::thread::hardware_concurrency());
      return m;
    }
    if (!ParseCount(fields[0], &m.threads)) {
      return BadMaster(text, "thread count must be an integer from 1 to 4096");
    }
    return m;
  }
  if (Bracketed(text, "local-cluster", &fields)) {
    m.kind = Master::Kind::kLocalCluster;
    if (fields.size() != 2 && fields.size() != 3) {
      return BadMaster(text, "local-cluster takes [executors,cores] or [executors,cores,memoryMB]");
    }
    if (!ParseCount(fields[0], &m.executors) || !ParseCount(fields[1], &m.cores_per_executor)) {
      return BadMaster(text, "executor and core counts must be integers from 1 to 4096");
    }
    if (fields.size() == 3) {
      uint64_t mb = 0;
      auto [ptr, ec] = std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), mb);
      if (ec != std::errc() || ptr != fields[2].data() + fields[2].size() || mb == 0) {
        return BadMaster(text, "memory must be a positive number of megabytes");
      }
      m.executor_memory_mb = mb;
    }
    return m;
  }
  if (Bracketed(text, "external", &fields)) {
    m.kind = Master::Kind::kExternal;
    if (fields.size() != 1 || !ParseCount(fields[0], &m.executors)) {
      return BadMaster(text, "external takes one executor count from 1 to 4096");
    }
    return m;
  }
  return BadMaster(text, "unknown form");
}

Result<uint64_t> ParseMemory(std::string_view text) {
  if (text.empty()) return InvalidArgumentError("empty memory size");
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data()) {
    return InvalidArgumentError("invalid memory size '" + std::string(text) +
                                "' (expected a number with an optional k, m, g or t suffix)");
  }
  std::string_view suffix(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  uint64_t scale = 1;
  if (suffix.empty() || suffix == "b" || suffix == "B") {
    scale = 1;
  } else if (suffix == "k" || suffix == "K" || suffix == "kb" || suffix == "KB") {
    scale = 1ull << 10;
  } else if (suffix == "m" || suffix == "M" || suffix == "mb" || suffix == "MB") {
    scale = 1ull << 20;
  } else if (suffix == "g" || suffix == "G" || suffix == "gb" || suffix == "GB") {
    scale = 1ull << 30;
  } else if (suffix == "t" || suffix == "T" || suffix == "tb" || suffix == "TB") {
    scale = 1ull << 40;
  } else {
    return InvalidArgumentError("invalid memory size '" + std::string(text) + "': unknown unit '" +
                                std::string(suffix) + "'");
  }
  if (value == 0) return InvalidArgumentError("memory size must be positive, got '" +
                                              std::string(text) + "'");
  if (value > UINT64_MAX / scale) {
    return InvalidArgumentError("memory size '" + std::string(text) + "' is too large");
  }
  return value * scale;
}

}  // namespace ember
