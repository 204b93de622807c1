// Where remote workers come from. A PodProvider lists the workers the validator may use, in order
// of preference; the RemoteExecutor asks each one's /v1/health and uses the first healthy one that
// is not busy.
//
// `static`: a fixed list of URLs from the config. Cloud GPU providers (Targon, Lium, Shadeform)
// are extension points: a provider that rents a pod, starts `cacheon worker` on it with the
// arena's token and certificate, and returns its URL (README.md "Extension points").
#pragma once
#include <string>
#include <vector>

#include "core/status.h"
#include "remote/https.h"

namespace cacheon::remote {

struct WorkerEndpoint {
  WorkerUrl url;
  std::string name;  // for messages: the URL unless a provider names it
};

class PodProvider {
 public:
  virtual ~PodProvider() = default;
  // The workers to try, best first. Error code "no_workers" when there are none.
  virtual Result<std::vector<WorkerEndpoint>> workers() = 0;
  // The provider's name in messages ("static", "targon", ...).
  virtual std::string kind() const = 0;
};

class StaticPodProvider final : public PodProvider {
 public:
  // Every URL "https://HOST:PORT". Error code "bad_url".
  static Result<StaticPodProvider> from_urls(const std::vector<std::string>& urls);
  Result<std::vector<WorkerEndpoint>> workers() override;
  std::string kind() const override { return "static"; }

 private:
  std::vector<WorkerEndpoint> endpoints_;
};

}  // namespace cacheon::remote
