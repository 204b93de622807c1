// The sandbox profile (runner/sandbox.h): every safety field of the create body, each override
// in its field, the GPU and user rules, validation, and size parsing.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "runner/sandbox.h"

namespace cacheon::runner {
namespace {

using nlohmann::json;

const std::string kImage = "sha256:" + std::string(64, 'a');

SandboxedContainer container() {
  SandboxedContainer c;
  c.image_id = kImage;
  c.models_dir = "/var/lib/cacheon/models/qwen";
  c.network = "cacheon-job-7";
  c.labels = {{"cacheon.managed", "1"}, {"cacheon.job", "7"}};
  return c;
}

TEST(RunnerSandbox, DeclaredVolumesGetACappedTmpfsAndBadOnesAreRefused) {
  SandboxProfile p;
  p.tmpfs_bytes = 1 << 20;
  SandboxedContainer c = container();
  c.volumes = {"/data", "/var/cache/x"};
  ASSERT_TRUE(validate(c));
  const json t = create_body(p, c)["HostConfig"]["Tmpfs"];
  for (const char* path : {"/tmp", "/data", "/var/cache/x"})
    EXPECT_EQ(t[path], "rw,exec,nosuid,nodev,size=1048576") << path;
  const std::vector<std::string> bads = {"data",    "/",           "/models", "/models/x",
                                         "/a/../b", "/a,size=99g", "/a\nb"};
  for (const std::string& bad : bads) {
    c.volumes = {bad};
    EXPECT_FALSE(validate(c)) << bad;
  }
  c.volumes.assign(65, "/v");
  EXPECT_FALSE(validate(c));
}

TEST(RunnerSandbox, DefaultsProduceEverySafetyField) {
  SandboxProfile p;
  ASSERT_TRUE(validate(p));
  ASSERT_TRUE(validate(container()));
  json b = create_body(p, container());
  EXPECT_EQ(b["Image"], kImage);
  EXPECT_FALSE(b.contains("Cmd"));   // the image's own command
  EXPECT_FALSE(b.contains("User"));  // the image's own user
  EXPECT_EQ(b["Env"], json::array());
  EXPECT_EQ(b["Labels"], (json{{"cacheon.managed", "1"}, {"cacheon.job", "7"}}));
  EXPECT_EQ(b["ExposedPorts"], (json{{"8000/tcp", json::object()}}));
  EXPECT_EQ(b["NetworkingConfig"],
            (json{{"EndpointsConfig", {{"cacheon-job-7", json::object()}}}}));
  const json& h = b["HostConfig"];
  EXPECT_EQ(h["ReadonlyRootfs"], true);
  EXPECT_EQ(h["Tmpfs"], (json{{"/tmp", "rw,exec,nosuid,nodev,size=4294967296"}}));
  EXPECT_EQ(h["CapDrop"], json::array({"ALL"}));
  EXPECT_FALSE(h.contains("CapAdd"));
  EXPECT_EQ(h["SecurityOpt"], json::array({"no-new-privileges"}));  // no seccomp=unconfined
  EXPECT_EQ(h["Privileged"], false);
  EXPECT_EQ(h["Memory"], int64_t{64} << 30);
  EXPECT_EQ(h["MemorySwap"], int64_t{64} << 30);
  EXPECT_EQ(h["NanoCpus"], int64_t{8'000'000'000});
  EXPECT_EQ(h["PidsLimit"], 4096);
  EXPECT_EQ(h["ShmSize"], int64_t{16} << 30);
  EXPECT_EQ(h["Ulimits"], (json::array({{{"Name", "nofile"}, {"Soft", 65536}, {"Hard", 65536}},
                                        {{"Name", "nproc"}, {"Soft", 4096}, {"Hard", 4096}},
                                        {{"Name", "core"}, {"Soft", 0}, {"Hard", 0}}})));
  EXPECT_EQ(h["LogConfig"]["Config"]["max-size"], std::to_string(int64_t{64} << 20));
  EXPECT_EQ(h["Mounts"], (json::array({{{"Type", "bind"},
                                        {"Source", "/var/lib/cacheon/models/qwen"},
                                        {"Target", "/models"},
                                        {"ReadOnly", true}}})));
  EXPECT_FALSE(h.contains("Binds"));  // nothing else mounted
  EXPECT_EQ(h["NetworkMode"], "cacheon-job-7");
  EXPECT_EQ(h["RestartPolicy"], (json{{"Name", "no"}}));
  EXPECT_EQ(h["AutoRemove"], false);
  EXPECT_FALSE(h.contains("DeviceRequests"));  // auto_detect, no GPUs present
  EXPECT_FALSE(h.contains("Devices"));
  EXPECT_FALSE(h.contains("PortBindings"));
}

struct OverrideCase {
  std::string name;
  std::function<void(SandboxProfile&, SandboxedContainer&)> set;
  std::vector<std::string> pointer;  // JSON pointer segments
  json expected;
};

TEST(RunnerSandbox, EachOverrideLandsInItsField) {
  const std::vector<OverrideCase> cases = {
      {"memory", [](auto& p, auto&) { p.memory_bytes = 1 << 30; }, {"HostConfig", "Memory"},
       1 << 30},
      {"swap follows memory", [](auto& p, auto&) { p.memory_bytes = 1 << 30; },
       {"HostConfig", "MemorySwap"}, 1 << 30},
      {"cpus", [](auto& p, auto&) { p.cpus = 1.5; }, {"HostConfig", "NanoCpus"}, 1'500'000'000},
      {"fractional cpus round", [](auto& p, auto&) { p.cpus = 0.1234567891; },
       {"HostConfig", "NanoCpus"}, 123'456'789},
      {"pids", [](auto& p, auto&) { p.pids_limit = 64; }, {"HostConfig", "PidsLimit"}, 64},
      {"shm", [](auto& p, auto&) { p.shm_bytes = 1 << 20; }, {"HostConfig", "ShmSize"}, 1 << 20},
      {"tmpfs", [](auto& p, auto&) { p.tmpfs_bytes = 16 << 20; }, {"HostConfig", "Tmpfs", "/tmp"},
       "rw,exec,nosuid,nodev,size=16777216"},
      {"nofile", [](auto& p, auto&) { p.nofile = 20000; }, {"HostConfig", "Ulimits", "0"},
       {{"Name", "nofile"}, {"Soft", 20000}, {"Hard", 20000}}},
      {"nproc", [](auto& p, auto&) { p.nproc = 77; }, {"HostConfig", "Ulimits", "1"},
       {{"Name", "nproc"}, {"Soft", 77}, {"Hard", 77}}},
      {"nproc 0 leaves it unset", [](auto& p, auto&) { p.nproc = 0; },
       {"HostConfig", "Ulimits"}, json::array({{{"Name", "nofile"}, {"Soft", 65536},
                                                {"Hard", 65536}},
                                               {{"Name", "core"}, {"Soft", 0}, {"Hard", 0}}})},
      {"port", [](auto& p, auto&) { p.port = 9000; }, {"ExposedPorts"},
       {{"9000/tcp", json::object()}}},
      {"env", [](auto& p, auto&) { p.env = {"A=1", "HF_HUB_OFFLINE=1", "EMPTY="}; }, {"Env"},
       json::array({"A=1", "HF_HUB_OFFLINE=1", "EMPTY="})},
      {"cmd", [](auto&, auto& c) { c.cmd = {"--port", "8000"}; }, {"Cmd"},
       json::array({"--port", "8000"})},
      {"user passed through", [](auto& p, auto&) { p.user = "1000:1000"; }, {"User"},
       "1000:1000"},
      {"models dir", [](auto&, auto& c) { c.models_dir = "/m"; },
       {"HostConfig", "Mounts", "0", "Source"}, "/m"},
      {"network", [](auto&, auto& c) { c.network = "other"; }, {"HostConfig", "NetworkMode"},
       "other"},
      {"network endpoint", [](auto&, auto& c) { c.network = "other"; },
       {"NetworkingConfig", "EndpointsConfig"}, {{"other", json::object()}}},
      {"image", [](auto&, auto& c) { c.image_id = "sha256:" + std::string(64, 'b'); }, {"Image"},
       "sha256:" + std::string(64, 'b')},
  };
  for (const auto& tc : cases) {
    SandboxProfile p;
    SandboxedContainer c = container();
    tc.set(p, c);
    ASSERT_TRUE(validate(p)) << tc.name;
    ASSERT_TRUE(validate(c)) << tc.name;
    json b = create_body(p, c);
    std::string ptr;
    for (std::string seg : tc.pointer) {
      for (size_t at = 0; (at = seg.find('/', at)) != std::string::npos;) seg.replace(at, 1, "~1");
      ptr += "/" + seg;
    }
    json::json_pointer jp(ptr);
    ASSERT_TRUE(b.contains(jp)) << tc.name << " " << ptr << "\n" << b.dump(2);
    EXPECT_EQ(b.at(jp), tc.expected) << tc.name;
    // Safety fields never move under an override.
    EXPECT_EQ(b["HostConfig"]["ReadonlyRootfs"], true) << tc.name;
    EXPECT_EQ(b["HostConfig"]["CapDrop"], json::array({"ALL"})) << tc.name;
    EXPECT_EQ(b["HostConfig"]["Privileged"], false) << tc.name;
    EXPECT_EQ(b["HostConfig"]["Mounts"].size(), 1u) << tc.name;
  }
}

TEST(RunnerSandbox, GpuMatrix) {
  const json requests = json::array(
      {{{"Driver", "nvidia"}, {"Count", -1}, {"Capabilities", json::array({{"gpu"}})}}});
  const json cdi =
      json::array({{{"Driver", "cdi"}, {"DeviceIDs", json::array({"nvidia.com/gpu=all"})}}});
  struct Case {
    GpuMode mode;
    GpuApi api;
    bool present;
    const json* requests;  // expected DeviceRequests, or null for absent
  };
  const Case cases[] = {
      {GpuMode::auto_detect, GpuApi::device_requests, false, nullptr},
      {GpuMode::auto_detect, GpuApi::device_requests, true, &requests},
      {GpuMode::auto_detect, GpuApi::cdi, false, nullptr},
      {GpuMode::auto_detect, GpuApi::cdi, true, &cdi},
      {GpuMode::none, GpuApi::device_requests, true, nullptr},
      {GpuMode::none, GpuApi::device_requests, false, nullptr},
      {GpuMode::none, GpuApi::cdi, true, nullptr},
      {GpuMode::none, GpuApi::cdi, false, nullptr},
      {GpuMode::all, GpuApi::device_requests, false, &requests},
      {GpuMode::all, GpuApi::device_requests, true, &requests},
      {GpuMode::all, GpuApi::cdi, false, &cdi},
      {GpuMode::all, GpuApi::cdi, true, &cdi},
  };
  int i = 0;
  for (const Case& tc : cases) {
    SandboxProfile p;
    p.gpus = tc.mode;
    p.gpu_api = tc.api;
    SandboxedContainer c = container();
    c.gpus_present = tc.present;
    const json h = create_body(p, c)["HostConfig"];
    SCOPED_TRACE("case " + std::to_string(i++));
    ASSERT_EQ(h.contains("DeviceRequests"), tc.requests != nullptr);
    if (tc.requests) {
      EXPECT_EQ(h["DeviceRequests"], *tc.requests);
    }
    EXPECT_FALSE(h.contains("Devices"));  // never raw device nodes
    EXPECT_EQ(h["Privileged"], false);  // GPUs never come through privileged mode
  }
}

TEST(RunnerSandbox, UserRuleMatrix) {
  struct Case {
    std::string profile_user, image_user;
    const char* expected;  // null: no User field (the image's user stays)
  };
  const Case cases[] = {
      {"", "", nullptr},          {"", "root", nullptr},
      {"", "1000", nullptr},      {"", "app", nullptr},
      {"nonroot", "", "65532:65532"},     {"nonroot", "root", "65532:65532"},
      {"nonroot", "0", "65532:65532"},    {"nonroot", "0:0", "65532:65532"},
      {"nonroot", "root:root", "65532:65532"}, {"nonroot", "00", "65532:65532"},
      {"nonroot", "0:1000", "65532:65532"},
      {"nonroot", "1000", nullptr},      {"nonroot", "app", nullptr},
      {"nonroot", "1000:1000", nullptr}, {"nonroot", "10", nullptr},
      {"nonroot", "rooty", nullptr},     {"nonroot", "app:0", nullptr},
      {"1000:1000", "", "1000:1000"},    {"1000:1000", "root", "1000:1000"},
      {"1000:1000", "app", "1000:1000"}, {"0", "1000", "0"},
      {"app", "", "app"},
  };
  for (const Case& tc : cases) {
    SandboxProfile p;
    p.user = tc.profile_user;
    SandboxedContainer c = container();
    c.image_user = tc.image_user;
    ASSERT_TRUE(validate(p)) << tc.profile_user;
    json b = create_body(p, c);
    SCOPED_TRACE("profile '" + tc.profile_user + "' image '" + tc.image_user + "'");
    if (tc.expected) {
      ASSERT_TRUE(b.contains("User"));
      EXPECT_EQ(b["User"], tc.expected);
    } else {
      EXPECT_FALSE(b.contains("User")) << b["User"];
    }
  }
}

TEST(RunnerSandbox, InvalidProfilesNameTheField) {
  struct Case {
    std::function<void(SandboxProfile&)> set;
    std::string field;  // must appear in the message
  };
  const Case cases[] = {
      {[](auto& p) { p.memory_bytes = 0; }, "memory_bytes"},
      {[](auto& p) { p.memory_bytes = -1; }, "memory_bytes"},
      {[](auto& p) { p.cpus = 0; }, "cpus"},
      {[](auto& p) { p.cpus = -2; }, "cpus"},
      {[](auto& p) { p.cpus = std::nan(""); }, "cpus"},
      {[](auto& p) { p.cpus = std::numeric_limits<double>::infinity(); }, "cpus"},
      {[](auto& p) { p.cpus = 1e-12; }, "cpus"},
      {[](auto& p) { p.cpus = 1e6; }, "cpus"},
      {[](auto& p) { p.pids_limit = 0; }, "pids_limit"},
      {[](auto& p) { p.pids_limit = -1; }, "pids_limit"},
      {[](auto& p) { p.shm_bytes = 0; }, "shm_bytes"},
      {[](auto& p) { p.tmpfs_bytes = 0; }, "tmpfs_bytes"},
      {[](auto& p) { p.tmpfs_bytes = -5; }, "tmpfs_bytes"},
      {[](auto& p) { p.nofile = 0; }, "nofile"},
      {[](auto& p) { p.nofile = int64_t{1} << 40; }, "nofile"},
      {[](auto& p) { p.nproc = -1; }, "nproc"},
      {[](auto& p) { p.port = 0; }, "port"},
      {[](auto& p) { p.port = 65536; }, "port"},
      {[](auto& p) { p.port = -80; }, "port"},
      {[](auto& p) { p.user = "a b"; }, "user"},
      {[](auto& p) { p.user = "1000:"; }, "user"},
      {[](auto& p) { p.user = "1:2:3"; }, "user"},
      {[](auto& p) { p.user = "x\n"; }, "user"},
      {[](auto& p) { p.env = {"NOEQUALS"}; }, "env"},
      {[](auto& p) { p.env = {"=value"}; }, "env"},
      {[](auto& p) { p.env = {"1A=x"}; }, "env"},
      {[](auto& p) { p.env = {"A-B=x"}; }, "env"},
      {[](auto& p) { p.env = {"A=line\nB=2"}; }, "env"},
      {[](auto& p) { p.env = {"A=x\r"}; }, "env"},
      {[](auto& p) { p.env = {std::string("A=x\0y", 5)}; }, "env"},
      {[](auto& p) { p.env = {"A=1", "B C=2"}; }, "env"},
      {[](auto& p) { p.env = std::vector<std::string>(2000, "A=1"); }, "env"},
  };
  int i = 0;
  for (const Case& tc : cases) {
    SandboxProfile p;
    tc.set(p);
    Status s = validate(p);
    SCOPED_TRACE("case " + std::to_string(i++) + " (" + tc.field + ")");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, "sandbox_invalid");
    EXPECT_NE(s.error().message.find(tc.field), std::string::npos) << s.error().message;
  }
  // Edges that are valid.
  SandboxProfile p;
  p.port = 1;
  p.nproc = 0;
  p.cpus = 0.001;
  p.env = {"_=x", "a1_B=", "K=v=w"};
  EXPECT_TRUE(validate(p));
  p.port = 65535;
  EXPECT_TRUE(validate(p));
}

TEST(RunnerSandbox, InvalidContainersNameTheField) {
  struct Case {
    std::function<void(SandboxedContainer&)> set;
    std::string field;
  };
  const Case cases[] = {
      {[](auto& c) { c.image_id = ""; }, "image_id"},
      {[](auto& c) { c.image_id = "localhost/x:latest"; }, "image_id"},
      {[](auto& c) { c.image_id = std::string(64, 'a'); }, "image_id"},
      {[](auto& c) { c.image_id = "sha256:" + std::string(63, 'a'); }, "image_id"},
      {[](auto& c) { c.image_id = "sha256:" + std::string(64, 'A'); }, "image_id"},
      {[](auto& c) { c.image_id = "sha256:" + std::string(63, 'a') + "g"; }, "image_id"},
      {[](auto& c) { c.models_dir = ""; }, "models_dir"},
      {[](auto& c) { c.models_dir = "models"; }, "models_dir"},
      {[](auto& c) { c.models_dir = "/"; }, "models_dir"},
      {[](auto& c) { c.models_dir = "/a/../etc"; }, "models_dir"},
      {[](auto& c) { c.models_dir = "/a/.."; }, "models_dir"},
      {[](auto& c) { c.models_dir = "/a\nb"; }, "models_dir"},
      {[](auto& c) { c.network = ""; }, "network"},
      {[](auto& c) { c.network = "host net"; }, "network"},
      {[](auto& c) { c.network = "-x"; }, "network"},
      {[](auto& c) { c.labels["bad"] = "a\nb"; }, "label"},
      {[](auto& c) { c.labels[""] = "x"; }, "label"},
      {[](auto& c) { c.cmd = {std::string("a\0b", 3)}; }, "cmd"},
      {[](auto& c) { c.image_user = "x\n"; }, "image_user"},
  };
  int i = 0;
  for (const Case& tc : cases) {
    SandboxedContainer c = container();
    tc.set(c);
    Status s = validate(c);
    SCOPED_TRACE("case " + std::to_string(i++) + " (" + tc.field + ")");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, "sandbox_invalid");
    EXPECT_NE(s.error().message.find(tc.field), std::string::npos) << s.error().message;
  }
  SandboxedContainer ok = container();
  ok.models_dir = "/a/..b/.c";  // names that merely start with dots are fine
  EXPECT_TRUE(validate(ok));
}

TEST(RunnerSandbox, ParseSizeTable) {
  struct Case {
    std::string text;
    int64_t expected;  // -1: rejected
  };
  const Case cases[] = {
      {"0", 0},
      {"123", 123},
      {"123b", 123},
      {"1k", 1024},
      {"1024k", 1 << 20},
      {"1K", 1024},
      {"1kb", 1024},
      {"1KiB", 1024},
      {"512m", int64_t{512} << 20},
      {"512MB", int64_t{512} << 20},
      {"64g", int64_t{64} << 30},
      {"64G", int64_t{64} << 30},
      {"64GiB", int64_t{64} << 30},
      {"2t", int64_t{2} << 40},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"8388607t", int64_t{8388607} << 40},
      {"9223372036854775808", -1},  // overflow
      {"99999999999999999999999", -1},
      {"8388608t", -1},  // 2^63: overflow after the unit
      {"", -1},
      {"-1", -1},
      {"-1g", -1},
      {"+1g", -1},
      {"1.5g", -1},  // integers only: write 1536m
      {"1,5g", -1},
      {" 1g", -1},
      {"1g ", -1},
      {"1 g", -1},
      {"g", -1},
      {"1x", -1},
      {"1gg", -1},
      {"1p", -1},
      {"1e9", -1},
      {"0x10", -1},
      {std::string("1\0g", 3), -1},
  };
  for (const Case& tc : cases) {
    Result<int64_t> r = parse_size(tc.text);
    if (tc.expected >= 0) {
      ASSERT_TRUE(r.ok()) << "'" << tc.text << "': " << r.error().message;
      EXPECT_EQ(*r, tc.expected) << tc.text;
    } else {
      ASSERT_FALSE(r.ok()) << "'" << tc.text << "' parsed as " << *r;
      EXPECT_EQ(r.error().code, "sandbox_invalid");
    }
  }
}

TEST(RunnerSandbox, HostHasGpusMatchesDevNode) {
  // The function's whole contract: the answer follows /dev/nvidia0.
  std::error_code ec;
  EXPECT_EQ(host_has_gpus(), std::filesystem::exists("/dev/nvidia0", ec));
}

}  // namespace
}  // namespace cacheon::runner
