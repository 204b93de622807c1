#include "remote/pod_provider.h"

namespace cacheon::remote {

Result<StaticPodProvider> StaticPodProvider::from_urls(const std::vector<std::string>& urls) {
  StaticPodProvider p;
  for (const auto& u : urls) {
    auto url = WorkerUrl::parse(u);
    if (!url.ok()) return url.error();
    p.endpoints_.push_back({*url, url->str()});
  }
  return p;
}

Result<std::vector<WorkerEndpoint>> StaticPodProvider::workers() {
  if (endpoints_.empty()) return Error{"no_workers", "no remote worker URLs are configured"};
  return endpoints_;
}

}  // namespace cacheon::remote
