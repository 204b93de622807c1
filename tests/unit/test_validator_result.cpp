#include <gtest/gtest.h>

#include "validator/worker.h"

namespace cacheon::validator {
namespace {

harness::EvalOutcome passed_with(double score, harness::Confidence c, double floor) {
  harness::EvalOutcome o;
  o.verdict.decided = true;
  o.verdict.passed = true;
  o.verdict.score = score;
  o.verdict.reason_code = "ok";
  o.verdict.confidence = c;
  o.verdict.noise_floor = floor;
  return o;
}

TEST(ValidatorResult, ScoreInsideTheBaselineNoiseCountsAsZero) {
  auto r = result_from_outcome(passed_with(0.03, harness::Confidence::within_noise, 0.05));
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.reason_code, "ok");
  EXPECT_EQ(r.score, 0);
  EXPECT_NE(r.message.find("within the noise floor"), std::string::npos);
}

TEST(ValidatorResult, ScoreOutsideTheNoiseOrUnmeasuredIsKept) {
  EXPECT_DOUBLE_EQ(
      result_from_outcome(passed_with(0.30, harness::Confidence::outside_noise, 0.05)).score, 0.30);
  // One baseline run (sequence B,C): no noise estimate, nothing to compare against.
  EXPECT_DOUBLE_EQ(
      result_from_outcome(passed_with(0.30, harness::Confidence::unmeasured, 0)).score, 0.30);
}

}  // namespace
}  // namespace cacheon::validator
