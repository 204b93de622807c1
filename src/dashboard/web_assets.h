// The web UI's static files, assembled into the binary (src/CMakeLists.txt generates the table
// from dashboard/web/ and node_modules/uplot/dist/).
#pragma once
#include <string_view>
#include <vector>

namespace cacheon::dashboard {

struct WebAsset {
  std::string_view url;  // "/index.html", "/vendor/uPlot.iife.min.js"
  std::string_view body;
  std::string_view content_type;
};

// "/" is the index page; nullptr when there is no such file.
const WebAsset* find_web_asset(std::string_view url);
std::vector<WebAsset> web_assets();

}  // namespace cacheon::dashboard
