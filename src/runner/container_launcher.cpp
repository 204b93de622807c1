#include "runner/container_launcher.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "arena/image_ref.h"
#include "core/clock.h"
#include "core/sha256.h"
#include "runner/container_server.h"

namespace cacheon::runner {
namespace {

namespace fs = std::filesystem;

Error launch_error(std::string_view code, std::string message) {
  return Error{std::string(code), std::move(message)};
}

// Container and network names: [a-z0-9-], unique per start.
std::string object_name(std::string_view scope, std::string_view name) {
  std::string safe;
  for (char c : name) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) && safe.size() < 24) safe += l;
  }
  std::random_device rd;
  return fmt::format("cacheon-{}-{}-{:08x}", scope, safe.empty() ? "x" : safe, rd());
}

std::map<std::string, std::string> labels_for(const ContainerLauncherOptions& o,
                                              std::string_view role, std::string_view name) {
  return {{kLabelManaged, "1"},
          {kLabelScope, o.scope},
          {kLabelRole, std::string(role)},
          {kLabelName, std::string(name.substr(0, 120))}};
}

bool has_digest(const ImageInfo& info, std::string_view digest) {
  for (const auto& rd : info.repo_digests) {
    const auto at = rd.rfind('@');
    if (at != std::string::npos && std::string_view(rd).substr(at + 1) == digest) return true;
  }
  return false;
}

// The harness's side of the relay: a small trusted container, its own tight limits.
nlohmann::json relay_body(const ContainerLauncherOptions& o, const std::string& target_ip,
                          const std::string& relay_network, std::string_view name) {
  auto labels = labels_for(o, "relay", name);
  return {{"Image", o.relay_image},
          {"Cmd", {std::to_string(o.sandbox.port), target_ip, std::to_string(o.sandbox.port)}},
          {"User", "65532:65532"},
          {"Labels", labels},
          {"HostConfig",
           {{"ReadonlyRootfs", true},
            {"CapDrop", {"ALL"}},
            {"SecurityOpt", {"no-new-privileges"}},
            {"Privileged", false},
            {"Memory", int64_t{256} << 20},
            {"MemorySwap", int64_t{256} << 20},
            {"NanoCpus", int64_t{2'000'000'000}},
            {"PidsLimit", 512},
            {"Ulimits",
             {{{"Name", "nofile"}, {"Soft", 4096}, {"Hard", 4096}},
              {{"Name", "nproc"}, {"Soft", 4096}, {"Hard", 4096}}}},
            {"NetworkMode", relay_network},
            {"RestartPolicy", {{"Name", "no"}}}}}};
}

std::string describe_exit(const ContainerState& s, int64_t memory_bytes) {
  std::string out = fmt::format("exit code {}", s.exit_code);
  if (s.oom_killed)
    out += fmt::format(", killed for using more memory than the sandbox allows ({} MiB)",
                       memory_bytes >> 20);
  else if (s.exit_code == 137)  // not every runtime reports the OOM kill itself
    out += fmt::format(", killed by SIGKILL: most often the sandbox's memory limit ({} MiB)",
                       memory_bytes >> 20);
  if (!s.error.empty()) out += ", runtime: " + s.error;
  return out;
}

// Pull progress for the operator: a line when the pull starts, then at most one every 5 s with
// the bytes so far over the layers' totals (the daemon sends a message per chunk).
std::function<void(const PullProgress&)> pull_reporter(const LaunchSpec& spec,
                                                       const std::string& ref) {
  if (!spec.on_progress) return {};
  spec.on_progress(fmt::format("{}: pulling {}", spec.name, ref));
  struct Layers {
    std::map<std::string, std::pair<int64_t, int64_t>> bytes;  // id -> (current, total)
    int64_t last_ns = 0;
  };
  auto layers = std::make_shared<Layers>();
  layers->last_ns = mono_ns();
  return [layers, report = spec.on_progress, name = spec.name](const PullProgress& p) {
    if (!p.id.empty() && p.total > 0 && layers->bytes.size() < 4096)
      layers->bytes[p.id] = {p.current, p.total};
    const int64_t now = mono_ns();
    if (now - layers->last_ns < 5'000'000'000) return;
    layers->last_ns = now;
    int64_t cur = 0, total = 0;
    for (const auto& [id, b] : layers->bytes) cur += b.first, total += b.second;
    report(fmt::format("{}: pulling, {:.1f} of {:.1f} MB in {} layer(s)", name, cur / 1e6,
                       total / 1e6, layers->bytes.size()));
  };
}

// Files alone do not make the server: the same files started with other flags or environment
// (how engines are tuned) are different submissions. The fingerprint covers both.
std::string with_run_config(const std::string& files_digest, const ImageInfo& info) {
  const nlohmann::json run = {{"entrypoint", info.entrypoint}, {"cmd", info.cmd},
                              {"env", info.env},               {"user", info.user},
                              {"working_dir", info.working_dir}};
  return "sha256:" + sha256_hex(files_digest + "\n" + run.dump());
}

}  // namespace

ContainerLauncher::ContainerLauncher(ContainerLauncherOptions options, ServerLauncher* fallback)
    : options_(std::move(options)),
      fallback_(fallback),
      runtime_(options_.runtime),
      gpus_present_(host_has_gpus()) {
  // Without CAP_SYS_RESOURCE the runtime cannot raise RLIMIT_NOFILE above our own hard limit.
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
      static_cast<int64_t>(rl.rlim_max) < options_.sandbox.nofile && ::geteuid() != 0)
    options_.sandbox.nofile = static_cast<int64_t>(rl.rlim_max);
}

ContainerLauncher::~ContainerLauncher() = default;

Status ContainerLauncher::check() {
  if (Status s = validate(options_.sandbox); !s.ok()) return s;
  std::error_code ec;
  if (options_.models_dir.empty() || !fs::path(options_.models_dir).is_absolute() ||
      !fs::is_directory(options_.models_dir, ec))
    return launch_error(launch_code::kLaunchFailed,
                        "container runner: models_dir must be an existing absolute directory, "
                        "got '" + options_.models_dir + "'");
  if (options_.reach == Reach::relay && options_.relay_image.empty())
    return launch_error(launch_code::kLaunchFailed,
                        "container runner: reach = relay needs relay_image "
                        "(build it with scripts/build-relay-image.sh)");
  auto v = runtime_.version();
  if (!v.ok()) return v.error();
  if (options_.reach == Reach::relay) {
    auto relay = runtime_.inspect_image(options_.relay_image);
    if (!relay.ok())
      return launch_error(launch_code::kLaunchFailed,
                          "container runner: the relay image '" + options_.relay_image +
                              "' is not in the local store (scripts/build-relay-image.sh): " +
                              relay.error().message);
  }
  return {};
}

Result<int> ContainerLauncher::sweep() {
  const std::vector<std::string> filter = {std::string(kLabelManaged) + "=1",
                                           std::string(kLabelScope) + "=" + options_.scope};
  int removed = 0;
  auto containers = runtime_.list_containers(filter);
  if (!containers.ok()) return containers.error();
  for (const auto& c : *containers)
    if (runtime_.remove_container(c.id, true).ok()) ++removed;
  auto networks = runtime_.list_networks(filter);
  if (!networks.ok()) return networks.error();
  for (const auto& n : *networks)
    if (runtime_.remove_network(n.id).ok()) ++removed;
  return removed;
}

Result<std::unique_ptr<ServerHandle>> ContainerLauncher::start(const LaunchSpec& spec) {
  if (!spec.argv.empty()) {
    if (fallback_) return fallback_->start(spec);
    return launch_error(launch_code::kLaunchFailed,
                        spec.name + ": the container runner runs images; this server is a "
                                    "command (configure [baseline] image, or the local runner)");
  }
  // 1. The image, by digest only.
  auto ref = arena::pinned_reference(spec.image, spec.digest);
  if (!ref.ok())
    return launch_error(launch_code::kImagePullFailed,
                        spec.name + ": not a pullable reference: " + ref.error().message);
  auto info = runtime_.inspect_image(*ref);
  if (!info.ok() && info.error().code != runtime_code::kNotFound)
    return launch_error(launch_code::kLaunchFailed, "container runtime: " + info.error().message);
  bool pulled_now = false;
  if (!info.ok()) {
    pulled_now = true;
    Status pulled = runtime_.pull(*ref, options_.pull_timeout, pull_reporter(spec, *ref));
    if (!pulled.ok()) {
      // The daemon failing us is the arena's problem; the registry refusing or stalling on the
      // committed reference is the submission's.
      const std::string& code = pulled.error().code;
      if (code == runtime_code::kUnreachable || code == runtime_code::kTimeout ||
          code == runtime_code::kBadResponse || code == runtime_code::kApiError)
        return launch_error(launch_code::kLaunchFailed, pulled.error().message);
      return launch_error(launch_code::kImagePullFailed,
                          fmt::format("{}: pulling {} failed: {}", spec.name, *ref,
                                      pulled.error().message));
    }
    info = runtime_.inspect_image(*ref);
    if (!info.ok())
      return launch_error(launch_code::kImagePullFailed,
                          spec.name + ": pulled, but the image cannot be inspected: " +
                              info.error().message);
  }
  // A rejected image we pulled is removed again (not forced: never from under a container).
  auto reject = [&](std::string_view code, std::string message) {
    if (pulled_now) (void)runtime_.remove_image(info->id, false);
    return launch_error(code, std::move(message));
  };
  if (!has_digest(*info, spec.digest))
    return reject(launch_code::kImageDigestMismatch,
                        fmt::format("{}: the image found for {} does not carry the committed "
                                    "digest {}",
                                    spec.name, *ref, spec.digest));
  if (info->size > options_.max_image_bytes)
    return reject(launch_code::kImageTooLarge,
                        fmt::format("{}: the image is {} bytes, over the {} byte cap", spec.name,
                                    info->size, options_.max_image_bytes));

  ContainerObjects objects;
  objects.image_id = info->id;
  objects.remove_image = options_.remove_images;
  auto fail = [&](std::string_view code, std::string message) {
    tear_down(runtime_, objects, options_.stop_grace);
    return launch_error(code, std::move(message));
  };
  // A server that is gone: its exit code and last lines, at once.
  auto exited = [&](const ContainerState& st) {
    auto tail = runtime_.logs_tail(objects.server_id, options_.log_tail_lines);
    return fail(launch_code::kServerExited,
                fmt::format("{}: the server exited before /health answered ({}); last log "
                            "lines:\n{}",
                            spec.name, describe_exit(st, options_.sandbox.memory_bytes),
                            tail.ok() ? *tail : "(logs unavailable)"));
  };
  auto arena_fail = [&](const Error& e) {
    return fail(launch_code::kLaunchFailed, spec.name + ": container runtime: " + e.message);
  };

  // 2. Its own internal network.
  auto net_name = object_name(options_.scope, "net");
  auto net = runtime_.create_network(net_name, true, labels_for(options_, "network", spec.name));
  if (!net.ok()) return arena_fail(net.error());
  objects.network_id = *net;

  // 3. The server, sandboxed.
  SandboxedContainer c;
  c.image_id = info->id;
  c.models_dir = options_.models_dir;
  c.network = net_name;
  c.labels = labels_for(options_, "server", spec.name);
  c.image_user = info->user;
  c.volumes = info->volumes;
  c.gpus_present = gpus_present_;
  if (Status v = validate(c); !v.ok()) return arena_fail(v.error());
  auto server = runtime_.create_container(object_name(options_.scope, spec.name),
                                          create_body(options_.sandbox, c));
  if (!server.ok()) return arena_fail(server.error());
  objects.server_id = *server;
  if (Status s = runtime_.start_container(*server); !s.ok()) {
    const std::string& code = s.error().code;
    if (code == runtime_code::kUnreachable || code == runtime_code::kTimeout ||
        code == runtime_code::kBadResponse)
      return arena_fail(s.error());
    // The daemon refused to start what the image asks for (a missing entrypoint, ...).
    return fail(launch_code::kServerExited,
                spec.name + ": the container did not start: " + s.error().message);
  }
  objects.logs = std::make_unique<LogFollower>(options_.runtime, *server, spec.logs_path,
                                               options_.max_log_bytes);
  auto inspected = runtime_.inspect_container(*server);
  if (!inspected.ok()) return arena_fail(inspected.error());
  if (!inspected->state.running) return exited(inspected->state);
  const std::string server_ip = inspected->ip_by_network[net_name];

  // 4. How the harness reaches it.
  std::string url_host = server_ip;
  if (options_.reach == Reach::relay) {
    // "bridge" is the default network in both dockerd and podman's compat API (podman
    // reports its own name for it, "podman", in inspect).
    const std::string relay_net =
        options_.relay_network.empty() ? "bridge" : options_.relay_network;
    auto relay = runtime_.create_container(object_name(options_.scope, "relay"),
                                           relay_body(options_, server_ip, relay_net, spec.name));
    if (!relay.ok()) return arena_fail(relay.error());
    objects.relay_id = *relay;
    if (Status s = runtime_.connect_network(*net, *relay); !s.ok()) return arena_fail(s.error());
    if (Status s = runtime_.start_container(*relay); !s.ok()) return arena_fail(s.error());
    auto ri = runtime_.inspect_container(*relay);
    if (!ri.ok()) return arena_fail(ri.error());
    for (const auto& [network, ip] : ri->ip_by_network)
      if (network != net_name && !ip.empty()) url_host = ip;
  }
  if (url_host.empty() || (options_.reach == Reach::relay && server_ip.empty()))
    return fail(launch_code::kLaunchFailed,
                spec.name + ": the runtime gave the container no address on its network");
  auto url = Url::parse(fmt::format("http://{}:{}", url_host, options_.sandbox.port));
  if (!url.ok()) return arena_fail(url.error());

  // 5. /health, watching the container.
  const int64_t deadline = mono_ns() + spec.startup_timeout.count() * 1'000'000;
  for (;;) {
    auto st = runtime_.inspect_container(*server);
    if (!st.ok() && st.error().code == runtime_code::kUnreachable) return arena_fail(st.error());
    if (st.ok() && !st->state.running) return exited(st->state);
    HttpClientRequest req;
    req.target = "/health";
    HttpTimeouts t;
    t.connect = t.first_byte = t.read_idle = t.total = std::chrono::milliseconds(2'000);
    HttpLimits lim;
    lim.max_body_bytes = 64 * 1024;
    auto h = http_fetch(*url, req, t, lim);
    if (h.ok() && h->status == 200) break;
    if (mono_ns() >= deadline) {
      auto tail = runtime_.logs_tail(*server, options_.log_tail_lines);
      return fail(launch_code::kStartupTimeout,
                  fmt::format("{}: /health did not answer 200 within {} s; last log lines:\n{}",
                              spec.name, spec.startup_timeout.count() / 1000.0,
                              tail.ok() ? *tail : "(logs unavailable)"));
    }
    std::this_thread::sleep_for(options_.health_poll);
  }

  // 6. What it is made of.
  std::string fingerprint;
  if (options_.fingerprint) {
    TarFingerprinter fp(options_.fingerprint_limits);
    Status fed;
    Status exported = runtime_.export_container(
        *server, options_.fingerprint_timeout, [&](std::string_view bytes) {
          fed = fp.feed(bytes);
          return fed.ok();
        });
    auto done = exported.ok() && fed.ok() ? fp.finish() : Result<Fingerprint>(Error{
        "fingerprint_failed", !fed.ok() ? fed.error().message : exported.error().message});
    if (done.ok())
      fingerprint = with_run_config(done->digest, *info);
    else  // the copy rule falls back to digests for this server; the operator should know
      fmt::print(stderr, "container runner: {}: no fingerprint: {}: {}\n", spec.name,
                 done.error().code, done.error().message);
  }

  return std::unique_ptr<ServerHandle>(std::make_unique<ContainerServer>(
      runtime_, std::move(objects), *url, spec.logs_path, std::move(fingerprint),
      options_.stop_grace));
}

}  // namespace cacheon::runner
