// The web UI's files, compiled in from assets/ by embed_assets.cmake, so
// that the pages need nothing but the process serving them.
#pragma once

#include <string_view>

namespace ember::ui {

struct Asset {
  std::string_view content_type;
  std::string_view data;
};

// The asset served at `path` ("/", "/static/app.js"); null when none is.
const Asset* FindAsset(std::string_view path);

}  // namespace ember::ui
