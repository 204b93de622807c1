// Provenance for benchmark reports (STYLE #13): source revision, CPU model, load average.
#pragma once
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace cacheon::bench {

// The source revision: from the binary's directory (a build tree inside the checkout), so the
// answer does not depend on where the benchmark is started.
inline std::string git_describe() {
  std::error_code ec;
  const auto dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  std::string cmd = "git describe --always --dirty 2>/dev/null";
  if (!ec) cmd = "git -C '" + dir.string() + "' describe --always --dirty 2>/dev/null";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.empty() ? "unknown" : out;
}

inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

inline std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace cacheon::bench
