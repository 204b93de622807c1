#include "runner/sandbox.h"

#include <sys/stat.h>

#include <cmath>
#include <limits>

namespace cacheon::runner {
namespace {

// Generous ceilings: a config typo (an extra zero) is caught, any real host fits.
constexpr double kMaxCpus = 4096;
constexpr int64_t kMaxNofile = int64_t{1} << 24;
constexpr size_t kMaxEnvEntries = 1024;
constexpr size_t kMaxEnvEntryBytes = 32 * 1024;
// The uid:gid the "nonroot" rule picks (distroless' nonroot).
constexpr const char* kNonrootUser = "65532:65532";

Status invalid(std::string message) {
  return Error{"sandbox_invalid", std::move(message)};
}

bool is_ident_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

Status validate_env(const std::string& entry) {
  if (entry.size() > kMaxEnvEntryBytes) return invalid("env entry longer than 32 KiB");
  size_t eq = entry.find('=');
  if (eq == std::string::npos) return invalid("env entry '" + entry + "' is not KEY=VALUE");
  std::string_view key(entry.data(), eq);
  bool ok = !key.empty() && is_ident_start(key[0]);
  for (char c : key) ok = ok && (is_ident_start(c) || is_digit(c));
  if (!ok) return invalid("env key '" + std::string(key) + "' must match [A-Za-z_][A-Za-z0-9_]*");
  if (entry.find('\0') != std::string::npos || entry.find('\n') != std::string::npos ||
      entry.find('\r') != std::string::npos)
    return invalid("env entry for " + std::string(key) + " contains a NUL or newline");
  return Status::Ok();
}

// "uid", "uid:gid", "name", "name:group": the characters a passwd name or number may hold.
bool valid_user_spec(std::string_view user) {
  if (user.empty() || user.size() > 256) return false;
  size_t colons = 0;
  for (char c : user) {
    if (c == ':') {
      ++colons;
    } else if (!(is_ident_start(c) || is_digit(c) || c == '-' || c == '.')) {
      return false;
    }
  }
  return colons <= 1 && user.front() != ':' && user.back() != ':';
}

// The user part of an image's Config.User names root: "", "root", "0", "00", "root:x", "0:x".
bool image_user_is_root(std::string_view image_user) {
  std::string_view u = image_user.substr(0, image_user.find(':'));
  if (u.empty() || u == "root") return true;
  for (char c : u)
    if (c != '0') return false;
  return true;
}

bool valid_network_name(std::string_view n) {
  if (n.empty() || n.size() > 128) return false;
  if (!(is_ident_start(n[0]) || is_digit(n[0])) || n[0] == '_') return false;
  for (char c : n)
    if (!(is_ident_start(c) || is_digit(c) || c == '-' || c == '.')) return false;
  return true;
}

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!(is_digit(c) || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

Status validate(const SandboxProfile& p) {
  if (p.memory_bytes <= 0) return invalid("memory_bytes must be positive");
  if (!std::isfinite(p.cpus) || p.cpus <= 0 || p.cpus > kMaxCpus)
    return invalid("cpus must be in (0, 4096]");
  if (std::llround(p.cpus * 1e9) <= 0) return invalid("cpus is below one nano-CPU");
  if (p.pids_limit <= 0) return invalid("pids_limit must be positive");
  if (p.shm_bytes <= 0) return invalid("shm_bytes must be positive");
  if (p.tmpfs_bytes <= 0) return invalid("tmpfs_bytes must be positive");
  if (p.nofile <= 0 || p.nofile > kMaxNofile) return invalid("nofile must be in [1, 2^24]");
  if (p.nproc < 0) return invalid("nproc must be >= 0 (0 leaves it unset)");
  if (!p.user.empty() && p.user != "nonroot" && !valid_user_spec(p.user))
    return invalid("user '" + p.user + "' is not \"\", \"nonroot\" or uid[:gid]");
  if (p.port < 1 || p.port > 65535) return invalid("port must be in [1, 65535]");
  if (p.env.size() > kMaxEnvEntries) return invalid("more than 1024 env entries");
  for (const std::string& e : p.env)
    if (Status s = validate_env(e); !s) return s;
  return Status::Ok();
}

Status validate(const SandboxedContainer& c) {
  constexpr std::string_view kSha = "sha256:";
  if (!c.image_id.starts_with(kSha) || c.image_id.size() != kSha.size() + 64 ||
      !is_lower_hex(std::string_view(c.image_id).substr(kSha.size())))
    return invalid("image_id must be sha256:<64 lowercase hex>, got '" + c.image_id + "'");
  const std::string& m = c.models_dir;
  if (m.empty() || m[0] != '/') return invalid("models_dir must be an absolute path");
  if (has_control(m)) return invalid("models_dir contains a control character");
  if (m == "/") return invalid("models_dir must not be the host root");
  for (size_t pos = 0; pos <= m.size();) {
    size_t end = m.find('/', pos);
    if (end == std::string::npos) end = m.size();
    if (m.compare(pos, end - pos, "..") == 0 && end - pos == 2)
      return invalid("models_dir must not contain '..'");
    pos = end + 1;
  }
  if (!valid_network_name(c.network)) return invalid("network '" + c.network + "' is not a name");
  for (const auto& [k, v] : c.labels)
    if (k.empty() || has_control(k) || has_control(v))
      return invalid("label '" + k + "' is empty or contains a control character");
  for (const std::string& a : c.cmd)
    if (a.find('\0') != std::string::npos) return invalid("cmd argument contains a NUL");
  if (has_control(c.image_user)) return invalid("image_user contains a control character");
  if (c.volumes.size() > 64) return invalid("the image declares more than 64 volumes");
  for (const std::string& v : c.volumes)
    if (v.empty() || v[0] != '/' || v.size() > 1024 || has_control(v) ||
        v.find("..") != std::string::npos || v.find(',') != std::string::npos ||
        v.rfind("/models", 0) == 0 || v == "/")
      return invalid("the image declares a volume at an unusable path '" + v + "'");
  return Status::Ok();
}

nlohmann::json create_body(const SandboxProfile& p, const SandboxedContainer& c) {
  using nlohmann::json;
  const std::string port_key = std::to_string(p.port) + "/tcp";

  json ulimits = json::array();
  ulimits.push_back({{"Name", "nofile"}, {"Soft", p.nofile}, {"Hard", p.nofile}});
  if (p.nproc > 0) ulimits.push_back({{"Name", "nproc"}, {"Soft", p.nproc}, {"Hard", p.nproc}});
  ulimits.push_back({{"Name", "core"}, {"Soft", 0}, {"Hard", 0}});  // no core dumps on disk

  // "exec" spelled out: dockerd and podman both default a tmpfs to noexec, and JIT caches
  // (Triton, torch.compile) execute from /tmp. Declared volumes get the same kind of tmpfs.
  const std::string tmpfs_opts = "rw,exec,nosuid,nodev,size=" + std::to_string(p.tmpfs_bytes);
  json tmpfs = {{"/tmp", tmpfs_opts}};
  for (const std::string& v : c.volumes) tmpfs[v] = tmpfs_opts;

  json host = {
      {"ReadonlyRootfs", true},
      {"Tmpfs", tmpfs},
      // The runtime's own log file is capped too (LogFollower caps our copy).
      {"LogConfig", {{"Type", ""}, {"Config", {{"max-size", std::to_string(p.log_bytes)}}}}},
      {"CapDrop", json::array({"ALL"})},
      // No seccomp= option: the runtime's default profile stays in force.
      {"SecurityOpt", json::array({"no-new-privileges"})},
      {"Privileged", false},
      {"Memory", p.memory_bytes},
      {"MemorySwap", p.memory_bytes},  // equal to Memory: no swap
      {"NanoCpus", std::llround(p.cpus * 1e9)},
      {"PidsLimit", p.pids_limit},
      {"ShmSize", p.shm_bytes},
      {"Ulimits", ulimits},
      {"Mounts", json::array({{{"Type", "bind"},
                               {"Source", c.models_dir},
                               {"Target", "/models"},
                               {"ReadOnly", true}}})},
      {"NetworkMode", c.network},
      {"RestartPolicy", {{"Name", "no"}}},
      {"AutoRemove", false},
  };

  const bool want_gpus =
      p.gpus == GpuMode::all || (p.gpus == GpuMode::auto_detect && c.gpus_present);
  if (want_gpus && p.gpu_api == GpuApi::device_requests) {
    host["DeviceRequests"] = json::array(
        {{{"Driver", "nvidia"}, {"Count", -1}, {"Capabilities", json::array({{"gpu"}})}}});
  } else if (want_gpus && p.gpu_api == GpuApi::cdi) {
    // Not HostConfig.Devices: podman's compat API stats a CDI name there as a device path.
    host["DeviceRequests"] =
        json::array({{{"Driver", "cdi"}, {"DeviceIDs", json::array({"nvidia.com/gpu=all"})}}});
  }

  json body = {
      {"Image", c.image_id},
      {"Env", p.env},
      {"Labels", c.labels},
      {"ExposedPorts", {{port_key, json::object()}}},
      {"Tty", false},
      {"OpenStdin", false},
      {"HostConfig", std::move(host)},
      {"NetworkingConfig", {{"EndpointsConfig", {{c.network, json::object()}}}}},
  };
  if (!c.cmd.empty()) body["Cmd"] = c.cmd;
  if (p.user == "nonroot") {
    if (image_user_is_root(c.image_user)) body["User"] = kNonrootUser;
  } else if (!p.user.empty()) {
    body["User"] = p.user;
  }
  return body;
}

bool host_has_gpus() {
  struct stat st {};
  return ::stat("/dev/nvidia0", &st) == 0;
}

Result<int64_t> parse_size(std::string_view text) {
  auto bad = [&](std::string_view why) -> Error {
    return Error{"sandbox_invalid", "size '" + std::string(text) + "': " + std::string(why)};
  };
  size_t i = 0;
  int64_t value = 0;
  while (i < text.size() && is_digit(text[i])) {
    int d = text[i] - '0';
    if (value > (std::numeric_limits<int64_t>::max() - d) / 10) return bad("too large");
    value = value * 10 + d;
    ++i;
  }
  if (i == 0) return bad("expected a non-negative integer with an optional unit (k, m, g, t)");
  std::string unit;
  for (char c : text.substr(i)) unit.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
  int shift = -1;
  if (unit.empty() || unit == "b") shift = 0;
  const char* prefixes = "kmgt";
  for (int n = 0; n < 4 && shift < 0; ++n) {
    const std::string p(1, prefixes[n]);
    if (unit == p || unit == p + "b" || unit == p + "ib") shift = 10 * (n + 1);
  }
  if (shift < 0) return bad("unknown unit (integers only: 1536m, not 1.5g)");
  if (shift > 0 && value > (std::numeric_limits<int64_t>::max() >> shift)) return bad("too large");
  return value << shift;
}

}  // namespace cacheon::runner
