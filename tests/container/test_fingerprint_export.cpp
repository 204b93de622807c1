// The content fingerprint (runner/fingerprint.h) on real `podman export` streams: two
// containers of one image agree, an image with the same files under another id agrees (the copy
// rule's case), a running container agrees with a created one (the runtime's mount points and
// injected files are excluded), and one changed byte disagrees. Images are built here FROM
// scratch with busybox-static; everything created is labelled and removed, also on failure.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "runner/fingerprint.h"

namespace cacheon::runner {
namespace {

namespace fs = std::filesystem;

struct ShellRun {
  int rc = -1;
  std::string out;
};

ShellRun sh(const std::string& cmd) {
  ShellRun r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
  return r;
}

// `podman export` piped through the fingerprinter in the pieces the pipe gives.
Result<Fingerprint> export_fingerprint(const std::string& id) {
  FILE* p = ::popen(("podman export " + id).c_str(), "r");
  if (!p) return Error{"test", "popen failed"};
  TarFingerprinter fp;
  std::array<char, 65536> buf{};
  size_t n = 0;
  Status fed;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    if (fed) fed = fp.feed(std::string_view(buf.data(), n));
  int status = ::pclose(p);
  if (!fed) return fed.error();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return Error{"test", "podman export failed"};
  return fp.finish();
}

class FingerprintExport : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sh("command -v podman").rc, 0)
        << "podman is not installed: run scripts/setup-deps.sh";
    ASSERT_TRUE(fs::exists("/usr/bin/busybox")) << "busybox-static is not installed";
    std::random_device rd;
    run_ = std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
    label_ = "cacheon.test=fingerprint-" + run_;
    dir_ = fs::temp_directory_path() / ("cacheon-fp-" + run_);
    fs::create_directories(dir_ / "ctx");
    fs::create_directories(dir_ / "models");
    fs::copy_file("/usr/bin/busybox", dir_ / "ctx" / "busybox");
  }

  void TearDown() override {
    sh("podman ps -aq --filter label=" + label_ + " | xargs -r podman rm -f -t 0");
    sh("podman images -aq --filter label=" + label_ + " | sort -u | xargs -r podman rmi -f");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Builds an image holding busybox and /srv/config with `config`; `extra_label` changes only
  // the image config (so the id), never the files.
  std::string build(const std::string& name, const std::string& config,
                    const std::string& extra_label = "") {
    std::ofstream(dir_ / "ctx" / "config") << config;
    std::ofstream(dir_ / ("Containerfile." + name))
        << "FROM scratch\n"  // the label first: no intermediate image escapes cleanup
        << "LABEL " << label_ << (extra_label.empty() ? "" : " " + extra_label) << "\n"
        << "COPY busybox /bin/busybox\nCOPY config /srv/config\n"
        << "ENTRYPOINT [\"/bin/busybox\", \"sleep\", \"600\"]\n";
    const std::string tag = "localhost/cacheon-fp-test-" + name + ":" + run_;
    const fs::path file = dir_ / ("Containerfile." + name);
    ShellRun r = sh("podman build -q --layers=false -f " + file.string() + " -t " + tag + " " +
                    (dir_ / "ctx").string());
    EXPECT_EQ(r.rc, 0) << r.out;
    return tag;
  }

  std::string create(const std::string& image) {
    ShellRun r = sh("podman create --runtime runc --label " + label_ + " " + image);
    EXPECT_EQ(r.rc, 0) << r.out;
    return r.out.substr(r.out.find_last_of('\n') + 1);
  }

  // Started the way the sandbox runs submissions: read-only root, /tmp tmpfs, /models bind.
  std::string start(const std::string& image) {
    // Explicit ulimits: without CAP_SYS_RESOURCE podman's defaults (1048576) fail in runc.
    struct rlimit nofile {};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    const std::string n = std::to_string(std::min<rlim_t>(nofile.rlim_max, 65536));
    ShellRun r = sh("podman run -d --runtime runc --ulimit nofile=" + n + ":" + n +
               " --ulimit nproc=4096:4096 --read-only --tmpfs /tmp --network none "
               "--cap-drop all --security-opt no-new-privileges -v " +
               (dir_ / "models").string() + ":/models:ro --label " + label_ + " " + image);
    EXPECT_EQ(r.rc, 0) << r.out;
    return r.out.substr(r.out.find_last_of('\n') + 1);
  }

  std::string fingerprint(const std::string& id) {
    Result<Fingerprint> r = export_fingerprint(id);
    EXPECT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    if (!r.ok()) return "error";
    EXPECT_EQ(r->files, 2) << "busybox and /srv/config, nothing else";
    return r->digest;
  }

  std::string run_, label_;
  fs::path dir_;
};

TEST_F(FingerprintExport, SameFilesSameFingerprintOneByteDiffers) {
  const std::string a = build("a", "port = 8000\n");
  const std::string a_relabelled = build("a2", "port = 8000\n", "other=label");
  const std::string b = build("b", "port = 8001\n");
  ASSERT_FALSE(HasFailure());
  ASSERT_NE(sh("podman image inspect -f '{{.Id}}' " + a).out,
            sh("podman image inspect -f '{{.Id}}' " + a_relabelled).out);

  const std::string fa1 = fingerprint(create(a));
  const std::string fa2 = fingerprint(create(a));
  EXPECT_EQ(fa1, fa2) << "two containers of one image";
  EXPECT_EQ(fingerprint(create(a_relabelled)), fa1) << "same files under another image id";
  EXPECT_EQ(fingerprint(start(a)), fa1) << "running (runtime mount points, /etc/hosts...)";
  EXPECT_NE(fingerprint(create(b)), fa1) << "one byte of one file changed";
}

}  // namespace
}  // namespace cacheon::runner
