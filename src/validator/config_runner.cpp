#include "validator/config_runner.h"

#include <limits>

namespace cacheon::validator::detail {
namespace {

// A size such as "64g" (runner::parse_size); the error names the key.
void size(TableReader& r, std::string_view key, int64_t& out, int64_t lo) {
  std::string text;
  r.string(key, text, 32);
  if (text.empty()) return;
  auto v = runner::parse_size(text);
  if (!v.ok() || *v < lo)
    return r.fail(key, fmt::format("must be a size such as \"512m\" or \"64g\" (at least {} "
                                   "bytes)",
                                   lo));
  out = *v;
}

}  // namespace

void read_container_runner(TableReader r, runner::ContainerLauncherOptions& o) {
  r.string("socket", o.runtime.socket_path, 1024);
  r.string("models_dir", o.models_dir, 4096);
  double gb = static_cast<double>(o.max_image_bytes) / 1e9;
  r.number("max_image_gb", gb, 0.001, 10'000);
  o.max_image_bytes = static_cast<int64_t>(gb * 1e9);
  r.seconds("pull_timeout_s", o.pull_timeout, 1, 86'400);
  r.seconds("request_timeout_s", o.runtime.request_timeout, 1, 3'600);
  std::string reach = o.reach == runner::Reach::relay ? "relay" : "direct";
  r.string("reach", reach, 16);
  if (reach == "relay")
    o.reach = runner::Reach::relay;
  else if (reach == "direct")
    o.reach = runner::Reach::direct;
  else
    r.fail("reach", "must be \"relay\" or \"direct\"");
  r.string("relay_image", o.relay_image, 1024);
  r.string("relay_network", o.relay_network, 256, true);
  r.string("scope", o.scope, 32);
  for (char ch : o.scope)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
      return r.fail("scope", "must be 1..32 characters of [a-z0-9]");
  r.boolean("remove_images", o.remove_images);
  r.boolean("fingerprint", o.fingerprint);
  r.seconds("fingerprint_timeout_s", o.fingerprint_timeout, 1, 86'400);
  int64_t log_mb = static_cast<int64_t>(o.max_log_bytes >> 20);
  r.integer("max_log_mb", log_mb, 1, 100'000);
  o.max_log_bytes = static_cast<size_t>(log_mb) << 20;
  r.finish();
}

void read_sandbox(TableReader r, runner::SandboxProfile& p) {
  size(r, "memory", p.memory_bytes, int64_t{64} << 20);
  r.number("cpus", p.cpus, 0.01, 4096);
  r.integer("pids", p.pids_limit, 16, 4'194'304);
  size(r, "shm", p.shm_bytes, int64_t{1} << 20);
  size(r, "tmpfs", p.tmpfs_bytes, int64_t{1} << 20);
  r.integer("nofile", p.nofile, 64, 1 << 24);
  r.integer("nproc", p.nproc, 0, 4'194'304);
  r.string("user", p.user, 64, true);
  std::string gpus = p.gpus == runner::GpuMode::all    ? "all"
                     : p.gpus == runner::GpuMode::none ? "none"
                                                       : "auto";
  r.string("gpus", gpus, 16);
  if (gpus == "auto")
    p.gpus = runner::GpuMode::auto_detect;
  else if (gpus == "all")
    p.gpus = runner::GpuMode::all;
  else if (gpus == "none")
    p.gpus = runner::GpuMode::none;
  else
    r.fail("gpus", "must be \"auto\", \"all\" or \"none\"");
  std::string api = p.gpu_api == runner::GpuApi::cdi ? "cdi" : "device-requests";
  r.string("gpu_api", api, 32);
  if (api == "cdi")
    p.gpu_api = runner::GpuApi::cdi;
  else if (api == "device-requests")
    p.gpu_api = runner::GpuApi::device_requests;
  else
    r.fail("gpu_api", "must be \"device-requests\" (dockerd with the nvidia toolkit) or "
                      "\"cdi\" (docker >= 25 with CDI, podman >= 5.4)");
  int port = p.port;
  r.integer("port", port, 1, 65535);
  p.port = port;
  if (const toml::node* n = r.node("env")) {
    const toml::array* a = n->as_array();
    if (!a || a->size() > 256) return r.fail("env", "must be an array of \"KEY=VALUE\" strings");
    p.env.clear();
    for (const auto& item : *a) {
      auto s = item.value<std::string>();
      if (!item.is_string() || !s) return r.fail("env", "every element must be a string");
      p.env.push_back(*s);
    }
  }
  r.finish();
  if (Status st = runner::validate(p); !st.ok()) r.errors().add("launcher.sandbox: " +
                                                                st.error().message);
}

}  // namespace cacheon::validator::detail

namespace cacheon::validator::detail {

void read_remote(TableReader r, RemoteWorkersConfig& c) {
  if (const toml::node* n = r.node("workers")) {
    const toml::array* a = n->as_array();
    if (!a || a->size() > 64) return r.fail("workers", "must be an array of 0..64 URLs");
    for (const auto& item : *a) {
      auto s = item.value<std::string>();
      if (!item.is_string() || !s || s->rfind("https://", 0) != 0 || s->size() > 512)
        return r.fail("workers", "every element must be an \"https://HOST:PORT\" URL");
      c.workers.push_back(*s);
    }
  }
  r.string("token_file", c.token_file, 4096);
  r.string("ca_file", c.ca_file, 4096);
  r.seconds("connect_s", c.connect, 0.01, 3'600);
  r.seconds("handshake_s", c.handshake, 0.01, 3'600);
  r.seconds("health_s", c.health, 0.01, 3'600);
  r.seconds("read_idle_s", c.read_idle, 0.1, 86'400);
  r.seconds("evaluation_s", c.evaluation, 0, 7 * 86'400);
  r.finish();
  if (!c.workers.empty() && (c.token_file.empty() || c.ca_file.empty()))
    r.errors().add("remote: workers need token_file and ca_file (cacheon worker gen-token, "
                   "cacheon worker gen-cert)");
}

}  // namespace cacheon::validator::detail
