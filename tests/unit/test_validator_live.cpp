// live.json (validator/live_status.h): idle at start, the round's participants and their states,
// progress steps throttled but phase changes and ends written at once, idle again at the end.
// And the validator's log file (core/log_file.h): timestamped lines, control characters
// flattened, rotation at the cap.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/log_file.h"
#include "validator/live_status.h"

namespace cacheon::validator {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class LiveFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cacheon_live_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  json read(const std::string& name) {
    std::ifstream f(dir_ / name);
    std::stringstream ss;
    ss << f.rdbuf();
    return json::parse(ss.str(), nullptr, false);
  }
  std::string text(const fs::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  fs::path dir_;
};

store::EvaluationRow row(const std::string& hotkey, store::Role role, store::EvalState st) {
  store::EvaluationRow e;
  e.participant.key = {hotkey, 5};
  e.participant.role = role;
  e.state = st;
  return e;
}

TEST_F(LiveFiles, RoundLifecycle) {
  const std::string path = (dir_ / "sub" / "live.json").string();
  LiveStatus live(path, 60'000);  // a long throttle: only forced writes land
  EXPECT_EQ(read("sub/live.json")["active"], false);
  live.begin_round(7, {row("a", store::Role::leader, store::EvalState::done),
                       row("b", store::Role::challenger, store::EvalState::pending)});
  json j = read("sub/live.json");
  EXPECT_EQ(j["active"], true);
  EXPECT_EQ(j["round"], 7);
  ASSERT_EQ(j["participants"].size(), 2u);
  EXPECT_EQ(j["participants"][0]["state"], "done");  // finished before a restart
  live.evaluating({"b", 5});
  j = read("sub/live.json");
  EXPECT_EQ(j["current"]["hotkey"], "b");
  EXPECT_EQ(j["current"]["role"], "challenger");
  EXPECT_EQ(j["participants"][1]["state"], "running");
  live.on_progress({"B (baseline)", 0, 6, "", ""});  // a new phase: written
  EXPECT_EQ(read("sub/live.json")["phase"], "B (baseline)");
  live.on_progress({"B (baseline)", 3, 6, "prompt 3", ""});  // throttled
  EXPECT_EQ(read("sub/live.json")["step"]["done"], 0);
  EXPECT_EQ(live.snapshot()["step"]["done"], 3);  // but kept
  live.on_progress({"B (baseline)", 6, 6, "", ""});  // the phase's end: written
  EXPECT_EQ(read("sub/live.json")["step"]["done"], 6);
  store::EvalResult r;
  r.passed = false;
  r.reason_code = "correctness_first_mismatch";
  live.evaluated({"b", 5}, r);
  j = read("sub/live.json");
  EXPECT_EQ(j["participants"][1]["state"], "done");
  EXPECT_EQ(j["participants"][1]["reason_code"], "correctness_first_mismatch");
  EXPECT_TRUE(j["current"].is_null());
  live.end_round();
  j = read("sub/live.json");
  EXPECT_EQ(j["active"], false);
  EXPECT_TRUE(j["updated_ms"].is_number_integer());
  live.on_progress({"x", 1, 2, "", ""});  // no round: nothing changes
  EXPECT_TRUE(live.snapshot()["phase"].is_null());
}

TEST_F(LiveFiles, EmptyPathWritesNothing) {
  LiveStatus live("");
  live.begin_round(1, {});
  live.end_round();
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(LiveFiles, LogLinesAndRotation) {
  fs::create_directories(dir_);
  const fs::path p = dir_ / "v.log";
  {
    LogFile log(p.string(), 200);
    log.write("first\nline\x01");
    const std::string t = text(p);
    ASSERT_GE(t.size(), 25u);
    EXPECT_EQ(t[4], '-');
    EXPECT_EQ(t.substr(23, 2), "Z ");
    EXPECT_EQ(t.substr(25), "first line \n");
    for (int i = 0; i < 10; ++i) log.write(std::string(30, 'x'));
    EXPECT_TRUE(log.last_error().empty());
  }
  EXPECT_TRUE(fs::exists(dir_ / "v.log.1"));
  EXPECT_LE(fs::file_size(p), 200u);
  EXPECT_LE(fs::file_size(dir_ / "v.log.1"), 200u);
  LogFile bad((dir_ / "v.log" / "cannot").string());  // a file where a directory should be
  bad.write("x");
  EXPECT_FALSE(bad.last_error().empty());
}

}  // namespace
}  // namespace cacheon::validator
