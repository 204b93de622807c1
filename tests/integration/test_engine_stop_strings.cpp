// Server-side stop strings over streamed text pieces (engine/server/stop_strings.h): only a
// possible start of a stop string is held back, a match cuts the text right before it, and the
// concatenation of what is released equals the text up to the first match whatever the split.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/server/stop_strings.h"

namespace cacheon::engine {
namespace {

// Feeds `pieces`, returns everything released and whether a stop string matched.
std::pair<std::string, bool> run_filter(std::vector<std::string> stops,
                                        const std::vector<std::string>& pieces) {
  StopStringFilter f(std::move(stops));
  std::string out;
  for (const auto& p : pieces) out += f.push(p);
  out += f.flush();
  return {out, f.stopped()};
}

TEST(EngineStopStrings, HoldsOnlyPossibleStarts) {
  StopStringFilter f({"END"});
  EXPECT_EQ(f.push("abc"), "abc");
  EXPECT_EQ(f.push("xE"), "x");    // "E" may start "END"
  EXPECT_EQ(f.push("Nd"), "ENd");  // it did not
  EXPECT_EQ(f.push("EN"), "");
  EXPECT_EQ(f.push("D and more"), "");
  EXPECT_TRUE(f.stopped());
  EXPECT_EQ(f.push("late"), "");
  EXPECT_EQ(f.flush(), "");
}

TEST(EngineStopStrings, EverySplitGivesTheSameText) {
  const std::string text = "one two <stop> three <stop> four";
  for (size_t a = 0; a <= text.size(); ++a) {
    for (size_t b = a; b <= text.size(); b += 3) {
      auto [out, stopped] =
          run_filter({"<stop>"}, {text.substr(0, a), text.substr(a, b - a), text.substr(b)});
      EXPECT_EQ(out, "one two ") << a << "," << b;
      EXPECT_TRUE(stopped);
    }
  }
}

TEST(EngineStopStrings, EarliestOfSeveralWins) {
  auto [out, stopped] = run_filter({"zzz", "b c", "c"}, {"a b", " c d"});
  EXPECT_EQ(out, "a ");
  EXPECT_TRUE(stopped);
}

TEST(EngineStopStrings, NoMatchReleasesEverythingAtTheEnd) {
  auto [out, stopped] = run_filter({"xyz"}, {"ab x", "y"});
  EXPECT_EQ(out, "ab xy");
  EXPECT_FALSE(stopped);
  auto [plain, none] = run_filter({}, {"a", "b"});
  EXPECT_EQ(plain, "ab");
  auto [empty_stop, s2] = run_filter({""}, {"abc"});  // an empty stop string is ignored
  EXPECT_EQ(empty_stop, "abc");
  EXPECT_FALSE(s2);
}

TEST(EngineStopStrings, Utf8StopStrings) {
  auto [out, stopped] = run_filter({"é!"}, {"caf", "é", "! then"});
  EXPECT_EQ(out, "caf");
  EXPECT_TRUE(stopped);
}

TEST(EngineStopStrings, UncheckedBeforeMinTokens) {
  StopStringFilter f({"ab"});
  EXPECT_EQ(f.push("xab", /*check=*/false), "xab");  // min_tokens not reached: no stop
  EXPECT_FALSE(f.stopped());
  EXPECT_EQ(f.push("yab"), "y");
  EXPECT_TRUE(f.stopped());
}

}  // namespace
}  // namespace cacheon::engine
