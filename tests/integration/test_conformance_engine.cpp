// The contract checks against the real engine (in process, the tiny synthetic model): every
// check passes, in the catalog's order. The reference server is conformant by definition of the
// contract; a failure here is a bug in the engine or in a check.
#include <gtest/gtest.h>

#include <filesystem>

#include "conformance/conformance.h"
#include "engine/model/synthetic.h"
#include "engine/server/engine_server.h"

namespace cacheon::conformance {
namespace {

namespace fs = std::filesystem;

TEST(ConformanceEngine, TheEnginePassesEveryCheck) {
  const fs::path dir = fs::temp_directory_path() /
                       ("cacheon_conformance_engine_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  engine::MakeModelOptions mk;
  mk.shape = "tiny";
  mk.seed = 0;
  mk.out_dir = dir.string();
  mk.tokenizer_json_path = CACHEON_ENGINE_QWEN_TOKENIZER;
  ASSERT_TRUE(engine::make_model(mk).ok());

  engine::EngineServerOptions o;
  o.model_dir = dir.string();
  o.served_model_name = "tiny";
  o.port = 0;
  o.max_model_len = 2048;
  o.threads = 1;
  engine::EngineServer server(o);
  ASSERT_TRUE(server.start().ok());

  ConformanceOptions co;
  co.server = *Url::parse("http://127.0.0.1:" + std::to_string(server.port()));
  co.model = "tiny";
  co.startup_timeout = std::chrono::seconds(60);  // /health is 503 while the model loads
  int seen = 0;
  co.on_result = [&](const CheckResult&) { ++seen; };
  ConformanceReport r = run_conformance(co);
  fs::remove_all(dir);

  EXPECT_TRUE(r.passed()) << render_table(r);
  EXPECT_EQ(r.count(CheckStatus::skip), 0) << render_table(r);
  ASSERT_EQ(r.results.size(), check_catalog().size());
  for (size_t i = 0; i < r.results.size(); ++i)
    EXPECT_EQ(r.results[i].id, check_catalog()[i].id) << i;
  EXPECT_EQ(seen, int(r.results.size()));

  // The wrong model name is caught by /v1/models and by every request that names it.
  co.model = "Qwen2.5-72B-Instruct";
  co.on_result = nullptr;
  ConformanceReport wrong = run_conformance(co);
  ASSERT_NE(wrong.find("models"), nullptr);
  EXPECT_EQ(wrong.find("models")->code, "models_missing_name");
  EXPECT_EQ(wrong.find("stream.http")->code, "stream_status");
}

}  // namespace
}  // namespace cacheon::conformance
