// /metrics in the Prometheus text format (0.0.4), from the store's counts.
#pragma once
#include <optional>
#include <string>

#include "store/queries.h"

namespace cacheon::dashboard {

struct MetricsInput {
  store::ArenaCounts counts;
  std::optional<int64_t> last_scanned_block;
  std::optional<double> leader_score;
};

std::string prometheus_text(const MetricsInput& in);

// One sample line: name{label="value"} number, with the label value escaped per the format.
std::string metric_line(std::string_view name, std::string_view label, std::string_view value,
                        double number);

}  // namespace cacheon::dashboard
