#include "launcher_fixture.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "engine/model/synthetic.h"

namespace cacheon::container_test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

Error fixture_error(std::string message) { return Error{"fixture_error", std::move(message)}; }

// The last non-empty line of a command's output.
std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

}  // namespace

namespace {
LauncherWorld* g_world = nullptr;
}  // namespace

LauncherWorld* LauncherWorld::get_if_built() { return g_world; }

Result<LauncherWorld*> LauncherWorld::get() {
  static std::string error;
  LauncherWorld*& world = g_world;
  if (world) return world;
  if (!error.empty()) return fixture_error(error);
  auto* w = new LauncherWorld();
  if (Status s = w->build(); !s.ok()) {
    error = s.error().message;
    w->shutdown();
    delete w;
    return fixture_error(error);
  }
  world = w;
  return world;
}

void LauncherWorld::shutdown() {
  for (const auto& tag : built_tags_)
    run_command({"podman", "rmi", "-f", tag}, 60s,
                service_ ? service_->env() : std::vector<std::string>{});
  built_tags_.clear();
  service_.reset();
  registry_.reset();
}

Status LauncherWorld::build() {
  const std::string src = CACHEON_SOURCE_DIR;
  work_ = std::make_unique<TempDir>("cacheon-ct");
  auto reg = LocalRegistry::start();
  if (!reg.ok()) return reg.error();
  registry_ = std::move(*reg);
  auto svc = PodmanService::start({{registry_->address()}});
  if (!svc.ok()) return svc.error();
  service_ = std::move(*svc);
  const auto env = service_->env();

  // The model every container gets at /models.
  engine::MakeModelOptions mk;
  mk.seed = 0;
  mk.out_dir = work_->path() + "/tiny";
  mk.tokenizer_json_path = CACHEON_ENGINE_QWEN_TOKENIZER;
  if (Status s = engine::make_model(mk); !s.ok()) return s.error();
  models_dir_ = mk.out_dir;
  // The container runs as 65532: the model must be readable by others.
  std::error_code ec;
  fs::permissions(models_dir_, fs::perms::others_read | fs::perms::others_exec,
                  fs::perm_options::add, ec);
  for (const auto& f : fs::directory_iterator(models_dir_, ec))
    fs::permissions(f.path(), fs::perms::others_read, fs::perm_options::add, ec);
  fs::permissions(work_->path(), fs::perms::others_exec, fs::perm_options::add, ec);

  auto relay = run_command({src + "/scripts/build-relay-image.sh"}, 180s, env);
  if (relay.exit_code != 0) return fixture_error("build-relay-image.sh: " + relay.output);
  relay_image_ = last_line(relay.output);

  const std::string engine_repo = fmt::format("localhost/cacheon-engine-ct{}", ::getpid());
  auto engine = run_command({src + "/scripts/build-engine-image.sh", "--repo", engine_repo,
                             CACHEON_BINARY_DIR},
                            300s, env);
  if (engine.exit_code != 0) return fixture_error("build-engine-image.sh: " + engine.output);
  std::string engine_tag;
  {
    std::istringstream in(engine.output);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("built ", 0) == 0) engine_tag = line.substr(6, line.find(' ', 6) - 6);
  }
  if (engine_tag.empty()) return fixture_error("no 'built' line from: " + engine.output);
  built_tags_.push_back(engine_tag);
  built_tags_.push_back(engine_repo + ":latest");
  local_["engine"] = engine_tag;

  auto hostile = run_command({src + "/scripts/build-test-images.sh", "--out-dir",
                              work_->path() + "/hostile"},
                             300s, env);
  if (hostile.exit_code != 0) return fixture_error("build-test-images.sh: " + hostile.output);
  std::istringstream in(hostile.output);
  std::string mode, id;
  while (in >> mode >> id) local_[mode] = "localhost/cacheon-hostile-" + mode + ":test";

  for (const auto& [name, local] : local_) {
    auto p = push(name, local);
    if (!p.ok()) return p.error();
  }
  auto copy = push("engine-copy", local_["engine"]);
  if (!copy.ok()) return copy.error();
  return {};
}

Result<PushedImage> LauncherWorld::push(const std::string& name, const std::string& local) {
  const std::string repo = "cacheon-" + name;  // no "/": the digest file is named after it
  auto digest = registry_->push(local, repo, "v1", service_->env());
  if (!digest.ok()) return digest.error();
  PushedImage p{registry_->address() + "/" + repo, *digest};
  images_[name] = p;
  return p;
}

Result<PushedImage> LauncherWorld::derive(const std::string& name, const std::string& base_local,
                                          const std::vector<std::string>& cmd,
                                          const std::string& extra) {
  const std::string dir = work_->path() + "/derive-" + name;
  fs::create_directories(dir);
  std::string cmd_json = "[";
  for (size_t i = 0; i < cmd.size(); ++i) cmd_json += (i ? ", \"" : "\"") + cmd[i] + "\"";
  cmd_json += "]";
  std::ofstream(dir + "/Containerfile")
      << "FROM " << base_local << "\n" << extra << "CMD " << cmd_json << "\n";
  const std::string tag = fmt::format("localhost/cacheon-ct-{}:{}", name, ::getpid());
  auto b = run_command({"podman", "build", "-q", "-t", tag, dir}, 120s, service_->env());
  if (b.exit_code != 0) return fixture_error("podman build " + name + ": " + b.output);
  built_tags_.push_back(tag);
  local_[name] = tag;
  return push(name, tag);
}

runner::ContainerLauncherOptions LauncherWorld::options(const std::string& scope) const {
  runner::ContainerLauncherOptions o;
  o.runtime = service_->runtime_options();
  o.models_dir = models_dir_;
  o.relay_image = relay_image_;
  o.scope = scope;
  o.pull_timeout = std::chrono::milliseconds(120'000);
  o.stop_grace = std::chrono::milliseconds(3'000);
  o.sandbox.memory_bytes = int64_t{2} << 30;
  o.sandbox.cpus = 2;
  o.sandbox.pids_limit = 256;
  o.sandbox.shm_bytes = int64_t{64} << 20;
  o.sandbox.tmpfs_bytes = int64_t{64} << 20;
  o.sandbox.nofile = nofile_limit();
  o.sandbox.nproc = 4096;
  o.sandbox.gpus = runner::GpuMode::none;
  return o;
}

int leftovers(runner::ContainerRuntime& rt, const std::string& scope) {
  const std::vector<std::string> f = {std::string(runner::kLabelScope) + "=" + scope};
  auto c = rt.list_containers(f);
  auto n = rt.list_networks(f);
  if (!c.ok() || !n.ok()) return -1;
  return static_cast<int>(c->size() + n->size());
}

}  // namespace cacheon::container_test

namespace cacheon::container_test {
namespace {
// Stops the shared service and registry after the last test of the process.
class WorldTeardown : public ::testing::Environment {
 public:
  void TearDown() override {
    auto w = LauncherWorld::get_if_built();
    if (w) w->shutdown();
  }
};
const auto* const kTeardown = ::testing::AddGlobalTestEnvironment(new WorldTeardown);
}  // namespace
}  // namespace cacheon::container_test
