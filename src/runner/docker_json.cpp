// Parsers for the Docker Engine API's responses. Every accessor checks the type it reads; the
// daemon is trusted to be a daemon, not to be well-formed.
#include "runner/docker_json.h"

#include <algorithm>
#include <climits>
#include <map>

#include <fmt/format.h>

namespace cacheon::runner::docker {
using nlohmann::json;

namespace {

Error bad(std::string message) {
  return Error{std::string(runtime_code::kBadResponse), std::move(message)};
}

// Field readers: absent or null -> default; wrong type -> an error naming the field.
struct Reader {
  const json& j;
  std::string_view what;
  std::optional<Error> err;

  const json* get(const char* key) {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return nullptr;
    return &*it;
  }
  void wrong(const char* key, const char* type) {
    if (!err) err = bad(fmt::format("{}: field {} is not {}", what, key, type));
  }
  std::string str(const char* key) {
    const json* v = get(key);
    if (!v) return {};
    if (!v->is_string()) return wrong(key, "a string"), std::string();
    return v->get<std::string>();
  }
  int64_t num(const char* key) {
    const json* v = get(key);
    if (!v) return 0;
    if (!v->is_number_integer() && !v->is_number_unsigned())
      return wrong(key, "an integer"), int64_t{0};
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))
      return wrong(key, "an integer in range"), int64_t{0};
    return v->get<int64_t>();
  }
  int int32(const char* key) {
    int64_t v = num(key);
    if (v < INT32_MIN || v > INT32_MAX) return wrong(key, "a 32-bit integer"), 0;
    return static_cast<int>(v);
  }
  bool boolean(const char* key) {
    const json* v = get(key);
    if (!v) return false;
    if (!v->is_boolean()) return wrong(key, "a boolean"), false;
    return v->get<bool>();
  }
  std::vector<std::string> strings(const char* key) {
    std::vector<std::string> out;
    const json* v = get(key);
    if (!v) return out;
    if (v->is_string()) return {v->get<std::string>()};  // Cmd/Entrypoint may be a string
    if (!v->is_array()) return wrong(key, "an array of strings"), out;
    for (const auto& e : *v) {
      if (!e.is_string()) return wrong(key, "an array of strings"), out;
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  std::map<std::string, std::string> labels(const char* key) {
    std::map<std::string, std::string> out;
    const json* v = get(key);
    if (!v) return out;
    if (!v->is_object()) return wrong(key, "an object of strings"), out;
    for (const auto& [k, e] : v->items()) {
      if (!e.is_string()) return wrong(key, "an object of strings"), out;
      out.emplace(k, e.get<std::string>());
    }
    return out;
  }
  // A sub-object (absent -> an empty object; wrong type -> error).
  const json& obj(const char* key) {
    static const json kEmpty = json::object();
    const json* v = get(key);
    if (!v) return kEmpty;
    if (!v->is_object()) return wrong(key, "an object"), kEmpty;
    return *v;
  }
};

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.' || c == '~';
}

std::string encode(std::string_view s, std::string_view also_keep) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (is_unreserved(c) || also_keep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

Result<json> parse_json(std::string_view text, std::string_view what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad(fmt::format("{}: the daemon's answer is not JSON", what));
  return j;
}

Result<ImageInfo> parse_image_info(const json& j) {
  if (!j.is_object()) return bad("inspect image: not a JSON object");
  Reader r{j, "inspect image"};
  ImageInfo info;
  info.id = r.str("Id");
  info.size = r.num("Size");
  info.repo_digests = r.strings("RepoDigests");
  info.repo_tags = r.strings("RepoTags");
  const json& config = r.obj("Config");
  Reader c{config, "inspect image Config"};
  info.user = c.str("User");
  info.entrypoint = c.strings("Entrypoint");
  info.cmd = c.strings("Cmd");
  info.env = c.strings("Env");
  for (const auto& [port, _] : c.obj("ExposedPorts").items()) info.exposed_ports.push_back(port);
  for (const auto& [path, _] : c.obj("Volumes").items()) info.volumes.push_back(path);
  info.working_dir = c.str("WorkingDir");
  if (r.err) return *r.err;
  if (c.err) return *c.err;
  if (info.id.empty()) return bad("inspect image: no Id");
  if (info.size < 0) return bad("inspect image: negative Size");
  return info;
}

Result<ContainerInfo> parse_container_info(const json& j) {
  if (!j.is_object()) return bad("inspect container: not a JSON object");
  Reader r{j, "inspect container"};
  ContainerInfo info;
  info.id = r.str("Id");
  info.name = r.str("Name");
  if (!info.name.empty() && info.name.front() == '/') info.name.erase(0, 1);
  info.image_id = r.str("Image");
  Reader s{r.obj("State"), "inspect container State"};
  info.state.status = s.str("Status");
  info.state.running = s.boolean("Running");
  info.state.oom_killed = s.boolean("OOMKilled");
  info.state.exit_code = s.int32("ExitCode");
  info.state.pid = s.int32("Pid");
  info.state.error = s.str("Error");
  Reader cfg{r.obj("Config"), "inspect container Config"};
  info.labels = cfg.labels("Labels");
  Reader ns{r.obj("NetworkSettings"), "inspect container NetworkSettings"};
  for (const auto& [name, net] : ns.obj("Networks").items()) {
    if (!net.is_object()) return bad("inspect container: a network entry is not an object");
    Reader n{net, "inspect container network"};
    std::string ip = n.str("IPAddress");
    if (n.err) return *n.err;
    if (!ip.empty()) info.ip_by_network.emplace(name, std::move(ip));
  }
  for (const Reader* x : {&r, &s, &cfg, &ns})
    if (x->err) return *x->err;
  if (info.id.empty()) return bad("inspect container: no Id");
  return info;
}

Result<std::vector<ContainerSummary>> parse_container_list(const json& j) {
  if (!j.is_array()) return bad("list containers: not a JSON array");
  std::vector<ContainerSummary> out;
  for (const auto& e : j) {
    if (!e.is_object()) return bad("list containers: an entry is not an object");
    Reader r{e, "list containers"};
    ContainerSummary c;
    c.id = r.str("Id");
    c.names = r.strings("Names");
    for (auto& n : c.names)
      if (!n.empty() && n.front() == '/') n.erase(0, 1);
    c.state = r.str("State");
    c.labels = r.labels("Labels");
    if (r.err) return *r.err;
    if (c.id.empty()) return bad("list containers: an entry has no Id");
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<NetworkSummary>> parse_network_list(const json& j) {
  if (!j.is_array()) return bad("list networks: not a JSON array");
  std::vector<NetworkSummary> out;
  for (const auto& e : j) {
    if (!e.is_object()) return bad("list networks: an entry is not an object");
    Reader r{e, "list networks"};
    NetworkSummary n;
    n.id = r.str("Id");
    n.name = r.str("Name");
    n.internal = r.boolean("Internal");
    n.labels = r.labels("Labels");
    if (r.err) return *r.err;
    if (n.id.empty() && n.name.empty()) return bad("list networks: an entry has no Id or Name");
    out.push_back(std::move(n));
  }
  return out;
}

Result<std::string> parse_created_id(const json& j) {
  Reader r{j, "create"};
  std::string id = r.str("Id");
  if (r.err) return *r.err;
  if (id.empty()) return bad("create: the daemon returned no Id");
  return id;
}

Result<int> parse_wait_status(const json& j) {
  if (!j.is_object() || !j.contains("StatusCode")) return bad("wait: no StatusCode");
  Reader r{j, "wait"};
  int code = r.int32("StatusCode");
  if (r.err) return *r.err;
  return code;
}

std::string daemon_error_message(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    auto it = j.find("message");
    if (it != j.end() && it->is_string()) body = it->get_ref<const std::string&>();
  }
  std::string out;
  for (char c : body.substr(0, 512)) out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  size_t start = out.find_first_not_of(' ');
  out.erase(0, start == std::string::npos ? out.size() : start);
  return out.empty() ? "(no message)" : out;
}

Result<PullMessage> parse_pull_message(std::string_view line) {
  json j = json::parse(line, nullptr, false);
  if (!j.is_object()) return bad("pull: a progress message is not a JSON object");
  Reader r{j, "pull progress"};
  PullMessage m;
  m.progress.status = r.str("status");
  m.progress.id = r.str("id");
  Reader d{r.obj("progressDetail"), "pull progressDetail"};
  m.progress.current = d.num("current");
  m.progress.total = d.num("total");
  // Podman and dockerd both send "error"; errorDetail.message is the same text when present.
  std::string error = r.str("error");
  if (error.empty()) {
    Reader e{r.obj("errorDetail"), "pull errorDetail"};
    error = e.str("message");
    if (e.err) return *e.err;
    if (error.empty() && j.contains("errorDetail")) error = "unspecified pull error";
  }
  if (r.err) return *r.err;
  if (d.err) return *d.err;
  if (!error.empty() || j.contains("error")) m.error = error.empty() ? "pull error" : error;
  return m;
}

bool is_pull_success(const PullProgress& last) {
  return last.status.rfind("Status: ", 0) == 0 || last.status == "Download complete" ||
         last.status == "Pull complete";
}

Result<SplitReference> split_reference(std::string_view reference) {
  auto invalid = [&](std::string_view why) {
    return Error{std::string(runtime_code::kPullFailed),
                 fmt::format("invalid image reference: {}", why)};
  };
  if (reference.empty()) return invalid("empty");
  if (reference.size() > 512) return invalid("longer than 512 bytes");
  for (char c : reference)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return invalid("space or control");
  size_t at = reference.find('@');
  if (at == std::string_view::npos) return SplitReference{std::string(reference), ""};
  std::string_view repo = reference.substr(0, at), digest = reference.substr(at + 1);
  if (repo.empty()) return invalid("no repository before '@'");
  constexpr std::string_view kAlgo = "sha256:";
  if (digest.substr(0, kAlgo.size()) != kAlgo || digest.size() != kAlgo.size() + 64 ||
      !is_lower_hex(digest.substr(kAlgo.size())))
    return invalid("the digest is not sha256:<64 lowercase hex>");
  return SplitReference{std::string(repo), std::string(digest)};
}

std::string query_encode(std::string_view value) { return encode(value, ""); }

std::string path_encode(std::string_view name, bool allow_slash) {
  return encode(name, allow_slash ? ":@/" : ":@");
}

std::string label_filters(const std::vector<std::string>& labels) {
  json f = json::object();
  f["label"] = labels;
  return query_encode(f.dump());
}

// ---------------------------------------------------------------------------------------------
// LogDemuxer

LogDemuxer::LogDemuxer(Mode mode, size_t max_frame_bytes)
    : mode_(mode), max_frame_(max_frame_bytes) {}

Status LogDemuxer::fail(std::string message) {
  failed_ = bad("log stream: " + std::move(message));
  return *failed_;
}

Status LogDemuxer::feed(std::string_view data, std::string& out) {
  if (failed_) return *failed_;
  if (mode_ == Mode::detect) {
    size_t take = std::min(data.size(), size_t{4} - pending_.size());
    pending_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (pending_.size() < 4) return {};
    bool header = static_cast<unsigned char>(pending_[0]) <= 3 && pending_[1] == 0 &&
                  pending_[2] == 0 && pending_[3] == 0;
    mode_ = header ? Mode::multiplexed : Mode::raw;
    std::string head = std::move(pending_);
    pending_.clear();
    if (Status s = feed(head, out); !s.ok()) return s;
  }
  if (mode_ == Mode::raw) {
    out.append(data);
    return {};
  }
  while (!data.empty()) {
    if (remaining_ > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
      out.append(data.substr(0, n));
      data.remove_prefix(n);
      remaining_ -= n;
      continue;
    }
    size_t take = std::min(data.size(), size_t{8} - pending_.size());
    pending_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (pending_.size() < 8) break;
    auto b = [&](int i) { return static_cast<unsigned char>(pending_[i]); };
    if (b(0) > 3 || b(1) != 0 || b(2) != 0 || b(3) != 0)
      return fail(fmt::format("bad frame header (stream byte {})", b(0)));
    uint64_t size = (uint64_t{b(4)} << 24) | (uint64_t{b(5)} << 16) | (uint64_t{b(6)} << 8) |
                    uint64_t{b(7)};
    if (size > max_frame_)
      return fail(fmt::format("frame of {} bytes (max {})", size, max_frame_));
    pending_.clear();
    remaining_ = size;
  }
  return {};
}

Status LogDemuxer::finish(std::string& out) {
  if (failed_) return *failed_;
  if (mode_ == Mode::detect) {  // fewer than 4 bytes in all: they can only be output
    out.append(pending_);
    pending_.clear();
    mode_ = Mode::raw;
    return {};
  }
  if (mode_ == Mode::multiplexed && (remaining_ > 0 || !pending_.empty()))
    return fail(remaining_ > 0 ? fmt::format("stream ended with {} bytes of a frame missing", remaining_)
                               : "stream ended inside a frame header");
  return {};
}

}  // namespace cacheon::runner::docker
