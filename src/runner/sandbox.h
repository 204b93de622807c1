// The sandbox every submitted server runs in (SPEC §4), as data, and the Docker Engine API
// "create container" body built from it. Pure: no I/O here, so every setting is table-tested.
//
// Defaults are the safe ones: an internal network (no route out), read-only root filesystem with
// a private size-capped tmpfs at /tmp, cap-drop ALL, no-new-privileges, the runtime's default
// seccomp profile, pids/memory/CPU/shm/nofile limits, the model directory bind-mounted
// read-only at /models and nothing else mounted, never privileged, GPUs passed when present.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace cacheon::runner {

enum class GpuMode {
  auto_detect,  // all GPUs when the host has any (/dev/nvidia0 or nvidia-smi), else none
  none,
  all,
};
// How GPUs are requested, both as HostConfig.DeviceRequests:
//  device_requests: {"Driver":"nvidia","Count":-1,"Capabilities":[["gpu"]]} (dockerd with the
//    nvidia container toolkit);
//  cdi: {"Driver":"cdi","DeviceIDs":["nvidia.com/gpu=all"]} (dockerd >= 25 with CDI enabled,
//    podman >= 5.4, containers/podman#25171).
// Podman < 5.4 has no compat-API form that attaches GPUs: it ignores nvidia DeviceRequests
// (create succeeds, no GPU) and stats a CDI name in HostConfig.Devices as a path (seen on
// 4.3.1: "stat nvidia.com/gpu=all: no such file or directory"); there only the libpod API does.
enum class GpuApi { device_requests, cdi };

struct SandboxProfile {
  // Resources.
  int64_t memory_bytes = int64_t{64} << 30;  // hard limit; swap disabled (MemorySwap = memory)
  double cpus = 8.0;                         // NanoCpus
  int64_t pids_limit = 4096;
  int64_t shm_bytes = int64_t{16} << 30;     // /dev/shm (NCCL, PyTorch dataloaders)
  int64_t tmpfs_bytes = int64_t{4} << 30;    // /tmp, private, exec allowed (JIT caches)
  int64_t nofile = 65536;                    // RLIMIT_NOFILE soft = hard
  int64_t nproc = 4096;                      // RLIMIT_NPROC soft = hard (0 = leave unset).
                                             // Per uid across containers: PidsLimit is the
                                             // per-container bound; keep nproc >= pids_limit
  int64_t log_bytes = int64_t{64} << 20;     // the runtime's own copy of the logs (max-size)
  // Identity: "" keeps the image's user; "nonroot" runs as 65532:65532 when the image's
  // user is root or empty; anything else is passed as User ("uid:gid").
  std::string user;
  // GPUs.
  GpuMode gpus = GpuMode::auto_detect;
  GpuApi gpu_api = GpuApi::device_requests;
  // The port the server listens on inside the container (SPEC §1: 8000).
  int port = 8000;
  // Extra environment for every submission ("KEY=VALUE"); validated: no newline, KEY non-empty.
  std::vector<std::string> env;
};

// One container to create under the profile.
struct SandboxedContainer {
  std::string image_id;     // run by image id ("sha256:..."), never by a mutable tag
  std::string models_dir;   // host directory bind-mounted read-only at /models
  std::string network;      // the (internal) network it joins
  std::map<std::string, std::string> labels;  // cleanup labels (cacheon.managed, cacheon.job, ...)
  std::string image_user;   // the image's Config.User, for the "nonroot" rule
  std::vector<std::string> cmd;  // empty: the image's own command
  // The image's declared VOLUMEs: each gets a private size-capped tmpfs (the runtime would
  // otherwise give it a writable, unbounded anonymous volume on the host's disk).
  std::vector<std::string> volumes;
  bool gpus_present = false;     // resolved by the caller (host_has_gpus()) for auto_detect
};

// Validates the profile (positive limits, env entries): error code "sandbox_invalid".
Status validate(const SandboxProfile& profile);
// Validates one container's inputs (image id "sha256:<64 hex>", absolute models_dir without
// "..", network name, labels and cmd without control bytes): error code "sandbox_invalid".
// create_body() does not re-check: callers validate both first.
Status validate(const SandboxedContainer& container);

// The POST /containers/create body: Image, Cmd, Env, User, Labels, ExposedPorts,
// HostConfig {ReadonlyRootfs, Tmpfs, CapDrop ["ALL"], SecurityOpt ["no-new-privileges"],
// Privileged false, Memory, MemorySwap, NanoCpus, PidsLimit, ShmSize, Ulimits, Mounts [models
// ro], NetworkMode, RestartPolicy no, AutoRemove false, DeviceRequests (GPUs)},
// NetworkingConfig.
nlohmann::json create_body(const SandboxProfile& profile, const SandboxedContainer& c);

// True when the host has NVIDIA GPUs (/dev/nvidia0 exists).
bool host_has_gpus();

// Parses sizes like "64g", "512m", "1024k", "123" (bytes; binary units; case-insensitive; "kb"
// and "kib" mean "k"). Integers only ("1.5g" is rejected: write "1536m"). Error
// "sandbox_invalid" on junk, a sign, a fraction or overflow.
Result<int64_t> parse_size(std::string_view text);

}  // namespace cacheon::runner
