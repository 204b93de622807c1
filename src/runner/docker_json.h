// Pure parsers for what the Docker Engine API (dockerd, or podman's compat service) sends back:
// inspect/list JSON, the pull progress stream, the multiplexed log stream; and the small
// encoders for request targets. No I/O, so every hostile input is unit-tested
// (tests/unit/test_runner_docker_json.cpp).
//
// Wrong types and missing fields never throw: a missing field reads as empty, a field of the
// wrong type is kBadResponse.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "runner/runtime.h"

namespace cacheon::runner::docker {

// Parses a JSON document (bounded by the caller); kBadResponse naming `what` otherwise.
Result<nlohmann::json> parse_json(std::string_view text, std::string_view what);

Result<ImageInfo> parse_image_info(const nlohmann::json& j);
Result<ContainerInfo> parse_container_info(const nlohmann::json& j);
Result<std::vector<ContainerSummary>> parse_container_list(const nlohmann::json& j);
Result<std::vector<NetworkSummary>> parse_network_list(const nlohmann::json& j);
// {"Id": "..."} of create calls.
Result<std::string> parse_created_id(const nlohmann::json& j);
// {"StatusCode": N} of /wait.
Result<int> parse_wait_status(const nlohmann::json& j);

// The daemon's error message from an error response body ({"message": ...}); the raw body
// (trimmed, at most 512 bytes, control characters replaced) when it is not that JSON.
std::string daemon_error_message(std::string_view body);

// One line of the pull progress stream.
struct PullMessage {
  PullProgress progress;
  std::optional<std::string> error;  // "error" or errorDetail.message
};
Result<PullMessage> parse_pull_message(std::string_view line);
// True for the message a successful pull ends with: dockerd's "Status: ..." summary, podman's
// final "Download complete" / "Pull complete".
bool is_pull_success(const PullProgress& last);

// "repo@sha256:<64 hex>" -> {repo, "sha256:<hex>"}; "repo[:tag]" -> {reference, ""}.
// kPullFailed for a reference that is empty, too long, has control or space characters, or a
// malformed digest.
struct SplitReference {
  std::string repo;
  std::string digest;
};
Result<SplitReference> split_reference(std::string_view reference);

// Percent-encodes for a query value (everything but unreserved characters).
std::string query_encode(std::string_view value);
// Percent-encodes an object name for a path segment; `allow_slash` keeps '/' (image names).
std::string path_encode(std::string_view name, bool allow_slash);
// {"label": [labels...]} as an encoded filters= value.
std::string label_filters(const std::vector<std::string>& labels);

// The stream of GET /containers/{id}/logs. Without a TTY every piece comes in frames of an
// 8-byte header [stream: 0 stdin, 1 stdout, 2 stderr, 3 daemon error][0 0 0][size: u32 BE] and
// `size` payload bytes; with a TTY the bytes are the output itself. In detect mode the first 4
// bytes decide (a header's shape: stream 0..3 then three zero bytes). Payload bytes are passed
// through as they arrive (no frame is buffered), so a huge declared size costs no memory; sizes
// over max_frame_bytes are rejected as no daemon sends them.
class LogDemuxer {
 public:
  enum class Mode { detect, multiplexed, raw };
  explicit LogDemuxer(Mode mode = Mode::detect, size_t max_frame_bytes = 16 * 1024 * 1024);
  // Appends the output carried by `data` to `out`. kBadResponse on a malformed header (the
  // demuxer then stays failed).
  Status feed(std::string_view data, std::string& out);
  // At the end of the stream: kBadResponse if it stopped inside a frame.
  Status finish(std::string& out);
  Mode mode() const { return mode_; }

 private:
  Status fail(std::string message);

  Mode mode_;
  size_t max_frame_;
  std::string pending_;    // header bytes (or the first bytes while detecting)
  uint64_t remaining_ = 0;  // payload bytes left in the current frame
  std::optional<Error> failed_;
};

}  // namespace cacheon::runner::docker
