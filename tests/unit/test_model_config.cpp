// ModelConfig: the table in tests/data/model/config_cases.json, plus round trips of the
// synthetic shapes' configs and file-level failures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/model/config.h"
#include "engine/model/synthetic.h"

namespace cacheon::engine {
namespace {

using nlohmann::json;

json load_cases() {
  std::ifstream in(std::string(CACHEON_TEST_DATA) + "/model/config_cases.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

void expect_fields(const ModelConfig& c, const json& expect, const std::string& name) {
  for (const auto& [key, v] : expect.items()) {
    SCOPED_TRACE(name + ": " + key);
    if (key == "vocab_size")
      EXPECT_EQ(c.vocab_size, v.get<int64_t>());
    else if (key == "hidden_size")
      EXPECT_EQ(c.hidden_size, v.get<int64_t>());
    else if (key == "intermediate_size")
      EXPECT_EQ(c.intermediate_size, v.get<int64_t>());
    else if (key == "num_hidden_layers")
      EXPECT_EQ(c.num_hidden_layers, v.get<int64_t>());
    else if (key == "num_attention_heads")
      EXPECT_EQ(c.num_attention_heads, v.get<int64_t>());
    else if (key == "num_key_value_heads")
      EXPECT_EQ(c.num_key_value_heads, v.get<int64_t>());
    else if (key == "head_dim")
      EXPECT_EQ(c.head_dim, v.get<int64_t>());
    else if (key == "max_position_embeddings")
      EXPECT_EQ(c.max_position_embeddings, v.get<int64_t>());
    else if (key == "rms_norm_eps")
      EXPECT_DOUBLE_EQ(c.rms_norm_eps, v.get<double>());
    else if (key == "rope_theta")
      EXPECT_DOUBLE_EQ(c.rope_theta, v.get<double>());
    else if (key == "tie_word_embeddings")
      EXPECT_EQ(c.tie_word_embeddings, v.get<bool>());
    else if (key == "torch_dtype")
      EXPECT_EQ(c.torch_dtype, v.get<std::string>());
    else if (key == "bos_token_id")
      EXPECT_EQ(c.bos_token_id, v.get<int32_t>());
    else if (key == "eos_token_ids")
      EXPECT_EQ(c.eos_token_ids, v.get<std::vector<int32_t>>());
    else
      ADD_FAILURE() << "unknown expect key " << key;
  }
}

TEST(ModelConfig, CaseTable) {
  const json doc = load_cases();
  ASSERT_TRUE(doc.contains("cases"));
  int errors = 0, oks = 0;
  for (const json& c : doc["cases"]) {
    const std::string name = c["name"];
    json cfg = doc["base"];
    if (c.contains("remove")) {
      for (const json& k : c["remove"]) cfg.erase(k.get<std::string>());
    }
    if (c.contains("set")) {
      for (const auto& [k, v] : c["set"].items()) cfg[k] = v;
    }
    auto r = ModelConfig::parse(cfg.dump());
    if (c.contains("error")) {
      ++errors;
      ASSERT_FALSE(r.ok()) << name << " parsed but should fail";
      EXPECT_EQ(r.error().code, "config_invalid") << name;
      EXPECT_NE(r.error().message.find(c["error"].get<std::string>()), std::string::npos)
          << name << ": got '" << r.error().message << "'";
    } else {
      ++oks;
      ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
      expect_fields(*r, c["expect"], name);
    }
  }
  EXPECT_GT(errors, 40);
  EXPECT_GT(oks, 15);
}

TEST(ModelConfig, MalformedDocuments) {
  for (const char* text : {"", "{", "[1, 2]", "\"config\"", "null", "{\"a\": }"}) {
    auto r = ModelConfig::parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, "config_invalid");
  }
  EXPECT_NE(ModelConfig::parse("[1]").error().message.find("not a JSON object"), std::string::npos);
  EXPECT_NE(ModelConfig::parse("{").error().message.find("not valid JSON"), std::string::npos);
  const std::string huge = "{\"x\": \"" + std::string(1'000'001, 'a') + "\"}";
  EXPECT_NE(ModelConfig::parse(huge).error().message.find("larger than 1 MB"), std::string::npos);
}

TEST(ModelConfig, SyntheticShapesRoundTrip) {
  for (const std::string& shape : synthetic_shape_names()) {
    SCOPED_TRACE(shape);
    auto c = synthetic_config(shape);
    ASSERT_TRUE(c.ok());
    auto back = ModelConfig::parse(c->to_json());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->vocab_size, c->vocab_size);
    EXPECT_EQ(back->hidden_size, c->hidden_size);
    EXPECT_EQ(back->intermediate_size, c->intermediate_size);
    EXPECT_EQ(back->num_hidden_layers, c->num_hidden_layers);
    EXPECT_EQ(back->num_attention_heads, c->num_attention_heads);
    EXPECT_EQ(back->num_key_value_heads, c->num_key_value_heads);
    EXPECT_EQ(back->head_dim, c->head_dim);
    EXPECT_EQ(back->max_position_embeddings, c->max_position_embeddings);
    EXPECT_EQ(back->rms_norm_eps, c->rms_norm_eps);
    EXPECT_EQ(back->rope_theta, c->rope_theta);
    EXPECT_EQ(back->tie_word_embeddings, c->tie_word_embeddings);
    EXPECT_EQ(back->torch_dtype, c->torch_dtype);
    EXPECT_EQ(back->bos_token_id, c->bos_token_id);
    EXPECT_EQ(back->eos_token_ids, c->eos_token_ids);
  }
  EXPECT_FALSE(synthetic_config("qwen2.5-3b").ok());
}

// The published Qwen2.5-Instruct shapes (hf.co/Qwen/Qwen2.5-*-Instruct/config.json).
TEST(ModelConfig, SyntheticShapesAreTheRealOnes) {
  struct Want {
    const char* shape;
    int64_t vocab, hidden, inter, layers, heads, kv, head_dim;
    bool tied;
  };
  const Want wants[] = {
      {"tiny", 151936, 128, 256, 2, 2, 1, 64, true},
      {"qwen2.5-0.5b", 151936, 896, 4864, 24, 14, 2, 64, true},
      {"qwen2.5-1.5b", 151936, 1536, 8960, 28, 12, 2, 128, true},
      {"qwen2.5-7b", 152064, 3584, 18944, 28, 28, 4, 128, false},
      {"qwen2.5-72b", 152064, 8192, 29568, 80, 64, 8, 128, false},
  };
  for (const Want& w : wants) {
    auto c = synthetic_config(w.shape);
    ASSERT_TRUE(c.ok()) << w.shape;
    EXPECT_EQ(c->vocab_size, w.vocab) << w.shape;
    EXPECT_EQ(c->hidden_size, w.hidden) << w.shape;
    EXPECT_EQ(c->intermediate_size, w.inter) << w.shape;
    EXPECT_EQ(c->num_hidden_layers, w.layers) << w.shape;
    EXPECT_EQ(c->num_attention_heads, w.heads) << w.shape;
    EXPECT_EQ(c->num_key_value_heads, w.kv) << w.shape;
    EXPECT_EQ(c->head_dim, w.head_dim) << w.shape;
    EXPECT_EQ(c->tie_word_embeddings, w.tied) << w.shape;
    EXPECT_EQ(c->rope_theta, 1e6);
    EXPECT_EQ(c->rms_norm_eps, 1e-6);
    EXPECT_EQ(c->max_position_embeddings, 32768);
  }
}

TEST(ModelConfig, LoadFromDirectory) {
  const auto dir = std::filesystem::temp_directory_path() / "cacheon_model_config_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto missing = ModelConfig::load(dir.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "config_not_found");
  std::ofstream(dir / "config.json") << synthetic_config("tiny")->to_json();
  auto ok = ModelConfig::load(dir.string());
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->hidden_size, 128);
  std::ofstream(dir / "config.json") << "{\"model_type\": \"qwen2\"}";
  auto bad = ModelConfig::load(dir.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "config_invalid");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cacheon::engine
