// `cacheon check` as a miner runs it: the real binary starting the real servers from commands.
// Exit codes 0 (conformant and the evaluation passed), 1 (a check failed), 2 (usage),
// 3 (the baseline did not serve); the table names the fix, --json carries the same results.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/model/synthetic.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Ran {
  int code = -1;
  std::string out;
};

class ConformanceCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("cacheon_conformance_cli_" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    cacheon::engine::MakeModelOptions mk;
    mk.shape = "tiny";
    mk.seed = 0;
    mk.out_dir = (*dir_ / "tiny").string();
    mk.tokenizer_json_path = CACHEON_ENGINE_QWEN_TOKENIZER;
    ASSERT_TRUE(cacheon::engine::make_model(mk).ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string bin(const char* name) { return std::string(CACHEON_BIN_DIR) + "/" + name; }
  static std::string engine_cmd() {
    return "'exec " + bin("cacheon-engine") + " serve --model " + (*dir_ / "tiny").string() +
           " --served-model-name tiny --port 0 --max-model-len 2048 --threads 1'";
  }
  static std::string testserver_cmd(const std::string& fault) {
    return "'exec " + bin("cacheon-testserver") +
           " --port 0 --model tiny --ttft-ms 1 --itl-ms 1 --fault " + fault + "'";
  }
  // Runs `cacheon check ARGS` with stdout captured; stderr goes to a log next to it.
  static Ran check(const std::string& args) {
    const fs::path out = *dir_ / "out.txt";
    const std::string cmd = bin("cacheon") + " check " + args + " --logs-dir " +
                            dir_->string() + " >" + out.string() + " 2>>" +
                            (*dir_ / "err.txt").string();
    Ran r;
    const int st = std::system(cmd.c_str());
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::ifstream f(out);
    std::stringstream ss;
    ss << f.rdbuf();
    r.out = ss.str();
    return r;
  }
  static fs::path* dir_;
};
fs::path* ConformanceCli::dir_ = nullptr;

TEST_F(ConformanceCli, UsageErrorsExit2) {
  EXPECT_EQ(check("").code, 2);                                      // no server
  EXPECT_EQ(check("--server http://127.0.0.1:9").code, 2);           // no baseline, no skip
  EXPECT_EQ(check("--server ftp://x --skip-eval").code, 2);          // bad URL
  EXPECT_EQ(check("--server http://127.0.0.1:9 --server-cmd true --skip-eval").code, 2);
  EXPECT_EQ(check("--server http://127.0.0.1:9 --validator-config /nonexistent").code, 2);
}

TEST_F(ConformanceCli, FaultyServerExits1WithTheFixInTheTable) {
  Ran r = check("--server-cmd " + testserver_cmd("no-done") + " --model tiny --skip-eval");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL  stream.done"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stream_no_done"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fix:      end every stream with 'data: [DONE]'"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("NOT CONFORMANT"), std::string::npos) << r.out;

  Ran j = check("--server-cmd " + testserver_cmd("usage-lie") + " --model tiny --skip-eval --json");
  EXPECT_EQ(j.code, 1);
  json doc = json::parse(j.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << j.out;
  EXPECT_EQ(doc["exit_code"], 1);
  EXPECT_EQ(doc["checks"]["passed"], false);
  bool found = false;
  for (const auto& c : doc["checks"]["checks"])
    if (c["id"] == "stream.usage") found = c["code"] == "usage_mismatch";
  EXPECT_TRUE(found) << j.out;
}

TEST_F(ConformanceCli, EngineAgainstEngineBaselinePassesChecksAndEvaluation) {
  Ran r = check("--server-cmd " + engine_cmd() + " --baseline-cmd " + engine_cmd() +
                " --model tiny --warmup 1 --prompts 2 --input-tokens 160 --output-tokens 8 "
                "--block-hash 0xe1e1 --quiet --json");
  ASSERT_EQ(r.code, 0) << r.out;
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(doc["checks"]["passed"], true);
  EXPECT_EQ(doc["eval"]["verdict"]["passed"], true);
  EXPECT_EQ(doc["eval_overridden"], true);
}

TEST_F(ConformanceCli, ServerThatDoesNotStartExits1) {
  Ran r = check("--server-cmd 'echo no address; exit 3' --model tiny --skip-eval --json");
  EXPECT_EQ(r.code, 1) << r.out;
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(doc["error"]["code"], "server_start_failed");
}

TEST_F(ConformanceCli, BaselineThatDoesNotServeExits3) {
  Ran r = check("--server-cmd " + engine_cmd() + " --baseline-cmd 'exit 7' --model tiny --quiet");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("CONFORMANT: 31 passed"), std::string::npos) << r.out;
}

}  // namespace
