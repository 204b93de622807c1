// Internal to config.cpp: the container runner's tables, [launcher.container] and
// [launcher.sandbox] (documented in config/validator.example.toml).
#pragma once
#include "runner/container_launcher.h"
#include "validator/config.h"
#include "validator/config_reader.h"

namespace cacheon::validator::detail {

void read_container_runner(TableReader r, runner::ContainerLauncherOptions& o);
void read_sandbox(TableReader r, runner::SandboxProfile& p);
// [remote] (validator/config.h RemoteWorkersConfig).
void read_remote(TableReader r, RemoteWorkersConfig& c);

}  // namespace cacheon::validator::detail
