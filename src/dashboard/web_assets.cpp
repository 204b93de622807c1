#include "dashboard/web_assets.h"

#include <algorithm>

namespace {
struct TableEntry {
  const char* url;
  const char* begin;
  const char* end;
};
}  // namespace

extern "C" const TableEntry cacheon_web_table[];  // ends with an all-null entry

namespace cacheon::dashboard {
namespace {

std::string_view content_type_of(std::string_view url) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},               {".png", "image/png"},
      {".json", "application/json"},          {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"}};
  for (const auto& [ext, type] : kTypes)
    if (url.size() >= ext.size() && url.substr(url.size() - ext.size()) == ext) return type;
  return "application/octet-stream";
}

}  // namespace

std::vector<WebAsset> web_assets() {
  std::vector<WebAsset> out;
  for (const TableEntry* e = cacheon_web_table; e->url != nullptr; ++e)
    out.push_back({e->url, std::string_view(e->begin, static_cast<size_t>(e->end - e->begin)),
                   content_type_of(e->url)});
  return out;
}

const WebAsset* find_web_asset(std::string_view url) {
  static const std::vector<WebAsset> assets = web_assets();
  if (url == "/") url = "/index.html";
  auto it = std::find_if(assets.begin(), assets.end(),
                         [&](const WebAsset& a) { return a.url == url; });
  return it == assets.end() ? nullptr : &*it;
}

}  // namespace cacheon::dashboard
