// load_weights and make_model: determinism, dummy == make-model + load, sharding, precise
// errors for broken checkpoints, and make-model's refusals.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <bit>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/model/safetensors.h"
#include "engine/model/synthetic.h"
#include "engine/model/weights.h"

namespace cacheon::engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "cacheon_model_XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string sub(const std::string& name) const { return (path / name).string(); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A small stand-in for the real tokenizer.json: make-model only copies it and checks its ids.
std::string fake_tokenizer(const TempDir& dir, int64_t max_id = 151664) {
  const json tok = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}}}}},
                    {"added_tokens",
                     {{{"id", 151643}, {"content", "<|endoftext|>"}, {"special", true}},
                      {{"id", 151645}, {"content", "<|im_end|>"}, {"special", true}},
                      {{"id", max_id}, {"content", "<|file_sep|>"}, {"special", true}}}}};
  const std::string path = dir.sub("tokenizer_in.json");
  std::ofstream(path) << tok.dump();
  return path;
}

MakeModelOptions tiny_options(const std::string& out, const std::string& tokenizer, uint64_t seed) {
  MakeModelOptions o;
  o.shape = "tiny";
  o.seed = seed;
  o.out_dir = out;
  o.tokenizer_json_path = tokenizer;
  return o;
}

void expect_same_weights(const ModelWeights& a, const ModelWeights& b) {
  auto same = [](const Tensor& x, const Tensor& y, const std::string& what) {
    ASSERT_EQ(x.shape, y.shape) << what;
    ASSERT_EQ(x.data.size(), y.data.size()) << what;
    for (size_t i = 0; i < x.data.size(); ++i) {
      ASSERT_EQ(std::bit_cast<uint32_t>(x.data[i]), std::bit_cast<uint32_t>(y.data[i]))
          << what << " element " << i;
    }
  };
  same(a.embed_tokens, b.embed_tokens, "embed_tokens");
  same(a.norm, b.norm, "norm");
  same(a.lm_head, b.lm_head, "lm_head");
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const LayerWeights &x = a.layers[i], &y = b.layers[i];
    const std::string l = "layer " + std::to_string(i) + " ";
    same(x.input_layernorm, y.input_layernorm, l + "input_layernorm");
    same(x.q_proj_w, y.q_proj_w, l + "q_proj_w");
    same(x.q_proj_b, y.q_proj_b, l + "q_proj_b");
    same(x.k_proj_w, y.k_proj_w, l + "k_proj_w");
    same(x.k_proj_b, y.k_proj_b, l + "k_proj_b");
    same(x.v_proj_w, y.v_proj_w, l + "v_proj_w");
    same(x.v_proj_b, y.v_proj_b, l + "v_proj_b");
    same(x.o_proj_w, y.o_proj_w, l + "o_proj_w");
    same(x.post_attention_layernorm, y.post_attention_layernorm, l + "post_attention_layernorm");
    same(x.gate_proj_w, y.gate_proj_w, l + "gate_proj_w");
    same(x.up_proj_w, y.up_proj_w, l + "up_proj_w");
    same(x.down_proj_w, y.down_proj_w, l + "down_proj_w");
  }
}

TEST(MakeModel, TinyIsDeterministicPerSeed) {
  TempDir dir;
  const std::string tok = fake_tokenizer(dir);
  ASSERT_TRUE(make_model(tiny_options(dir.sub("a"), tok, 1)).ok());
  ASSERT_TRUE(make_model(tiny_options(dir.sub("b"), tok, 1)).ok());
  ASSERT_TRUE(make_model(tiny_options(dir.sub("c"), tok, 2)).ok());
  const std::vector<std::string> files = {"config.json", "generation_config.json",
                                          "model.safetensors", "tokenizer.json",
                                          "tokenizer_config.json"};
  for (const std::string& f : files) {
    EXPECT_EQ(slurp(dir.path / "a" / f), slurp(dir.path / "b" / f)) << f;
  }
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path / "a")) ++entries;
  EXPECT_EQ(entries, files.size());
  EXPECT_EQ(slurp(dir.path / "a" / "config.json"), slurp(dir.path / "c" / "config.json"));
  EXPECT_NE(slurp(dir.path / "a" / "model.safetensors"),
            slurp(dir.path / "c" / "model.safetensors"));
  EXPECT_EQ(slurp(dir.path / "a" / "tokenizer.json"), slurp(tok));
  // The documented size of tiny: ~39.5 MB, nearly all of it the bf16 embedding.
  const auto size = fs::file_size(dir.path / "a" / "model.safetensors");
  EXPECT_GT(size, 39'000'000u);
  EXPECT_LT(size, 40'000'000u);
  // No temporary directories left beside the outputs.
  for (const auto& e : fs::directory_iterator(dir.path)) {
    EXPECT_EQ(e.path().filename().string().find(".partial-"), std::string::npos);
  }
}

TEST(MakeModel, DummyEqualsMakeModelThenLoad) {
  TempDir dir;
  const std::string tok = fake_tokenizer(dir);
  for (const char* dtype : {"bfloat16", "float16", "float32"}) {
    SCOPED_TRACE(dtype);
    auto o = tiny_options(dir.sub(dtype), tok, 7);
    o.dtype = dtype;
    ASSERT_TRUE(make_model(o).ok());
    auto files = load_weights(o.out_dir, LoadFormat::safetensors);
    ASSERT_TRUE(files.ok()) << files.error().message;
    auto dummy = load_weights(o.out_dir, LoadFormat::dummy, 7);
    ASSERT_TRUE(dummy.ok()) << dummy.error().message;
    EXPECT_EQ(files->config.torch_dtype, dtype);
    EXPECT_TRUE(files->lm_head.empty());  // tiny ties its embeddings
    EXPECT_EQ(&files->output_embedding(), &files->embed_tokens);
    expect_same_weights(*files, *dummy);
    auto other_seed = load_weights(o.out_dir, LoadFormat::dummy, 8);
    EXPECT_NE(other_seed->embed_tokens.data, files->embed_tokens.data);
  }
}

TEST(MakeModel, ShardsWithAnIndex) {
  TempDir dir;
  auto o = tiny_options(dir.sub("m"), fake_tokenizer(dir), 3);
  o.max_shard_bytes = 8'000'000;  // the 38.9 MB embedding alone exceeds it: its own shard
  std::vector<std::string> progress;
  o.progress = [&](const std::string& line) { progress.push_back(line); };
  ASSERT_TRUE(make_model(o).ok());
  EXPECT_FALSE(fs::exists(dir.path / "m" / "model.safetensors"));
  const json index = json::parse(slurp(dir.path / "m" / "model.safetensors.index.json"));
  EXPECT_EQ(index["weight_map"]["model.embed_tokens.weight"], "model-00001-of-00002.safetensors");
  EXPECT_EQ(index["weight_map"]["model.norm.weight"], "model-00002-of-00002.safetensors");
  EXPECT_EQ(index["weight_map"].size(), 2u + 2 * 12);
  auto files = load_weights(o.out_dir, LoadFormat::safetensors);
  ASSERT_TRUE(files.ok()) << files.error().message;
  expect_same_weights(*files, *load_weights(o.out_dir, LoadFormat::dummy, 3));
  ASSERT_FALSE(progress.empty());
  EXPECT_NE(progress.back().find("done"), std::string::npos);
}

TEST(MakeModel, TokenizerConfigIsQwen25Instruct) {
  TempDir dir;
  ASSERT_TRUE(make_model(tiny_options(dir.sub("m"), fake_tokenizer(dir), 0)).ok());
  const json tc = json::parse(slurp(dir.path / "m" / "tokenizer_config.json"));
  EXPECT_EQ(tc["chat_template"], kQwen25ChatTemplate);
  EXPECT_EQ(tc["eos_token"], "<|im_end|>");
  EXPECT_EQ(tc["pad_token"], "<|endoftext|>");
  EXPECT_EQ(tc["tokenizer_class"], "Qwen2Tokenizer");
  EXPECT_EQ(tc["added_tokens_decoder"]["151645"]["content"], "<|im_end|>");
  EXPECT_TRUE(tc["model_max_length"].is_number_integer());
  const std::string tpl = kQwen25ChatTemplate;
  EXPECT_NE(tpl.find("You are Qwen, created by Alibaba Cloud. You are a helpful assistant."),
            std::string::npos);
  const json gc = json::parse(slurp(dir.path / "m" / "generation_config.json"));
  EXPECT_EQ(gc["eos_token_id"], json({151645, 151643}));
  EXPECT_FALSE(gc.contains("temperature"));
  const json cfg = json::parse(slurp(dir.path / "m" / "config.json"));
  EXPECT_EQ(cfg["architectures"], json({"Qwen2ForCausalLM"}));
  EXPECT_EQ(cfg["eos_token_id"], 151645);
  EXPECT_FALSE(cfg.contains("head_dim"));  // hidden / heads, as in the real configs
}

#ifdef CACHEON_QWEN_TOKENIZER
TEST(MakeModel, CopiesTheRealTokenizer) {
  if (!fs::exists(CACHEON_QWEN_TOKENIZER)) GTEST_SKIP() << "no npm tokenizer";
  TempDir dir;
  ASSERT_TRUE(make_model(tiny_options(dir.sub("m"), CACHEON_QWEN_TOKENIZER, 0)).ok());
  EXPECT_EQ(slurp(dir.path / "m" / "tokenizer.json"), slurp(CACHEON_QWEN_TOKENIZER));
  const json tc = json::parse(slurp(dir.path / "m" / "tokenizer_config.json"));
  EXPECT_EQ(tc["added_tokens_decoder"]["151643"]["content"], "<|endoftext|>");
}
#endif

TEST(MakeModel, Refusals) {
  TempDir dir;
  const std::string tok = fake_tokenizer(dir);
  auto o = tiny_options(dir.sub("out"), tok, 0);
  fs::create_directories(o.out_dir);
  std::ofstream(dir.path / "out" / "keep.txt") << "x";
  auto exists = make_model(o);
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(exists.error().code, "output_exists");
  EXPECT_TRUE(fs::exists(dir.path / "out" / "keep.txt"));
  o.force = true;
  ASSERT_TRUE(make_model(o).ok());
  EXPECT_FALSE(fs::exists(dir.path / "out" / "keep.txt"));
  EXPECT_TRUE(fs::exists(dir.path / "out" / "model.safetensors"));

  auto big = tiny_options(dir.sub("big"), tok, 0);
  big.shape = "qwen2.5-72b";
  auto too_large = make_model(big);
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.error().code, "shape_too_large");
  EXPECT_NE(too_large.error().message.find("--force-large"), std::string::npos);
  EXPECT_FALSE(fs::exists(big.out_dir));

  auto shape = tiny_options(dir.sub("s"), tok, 0);
  shape.shape = "qwen3-8b";
  EXPECT_EQ(make_model(shape).error().code, "invalid_argument");
  auto dtype = tiny_options(dir.sub("d"), tok, 0);
  dtype.dtype = "int8";
  EXPECT_EQ(make_model(dtype).error().code, "invalid_argument");
  auto vocab = tiny_options(dir.sub("v"), fake_tokenizer(dir, 151936), 0);
  auto beyond = make_model(vocab);
  EXPECT_EQ(beyond.error().code, "tokenizer_invalid");
  EXPECT_NE(beyond.error().message.find("151936"), std::string::npos);
  EXPECT_FALSE(fs::exists(vocab.out_dir));
  auto missing = tiny_options(dir.sub("t"), dir.sub("no_tokenizer.json"), 0);
  EXPECT_EQ(make_model(missing).error().code, "tokenizer_not_found");
  auto no_out = tiny_options("", tok, 0);
  EXPECT_EQ(make_model(no_out).error().code, "invalid_argument");
  for (const auto& e : fs::directory_iterator(dir.path)) {
    EXPECT_EQ(e.path().filename().string().find(".partial-"), std::string::npos);
  }
}

// ---- broken checkpoints: a small hand-made config keeps these fast ----

ModelConfig small_config() {
  ModelConfig c;
  c.vocab_size = 300;
  c.hidden_size = 128;
  c.intermediate_size = 96;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 64;
  c.max_position_embeddings = 512;
  c.tie_word_embeddings = false;
  c.torch_dtype = "bfloat16";
  return c;
}

// Writes config + one model.safetensors; `edit` may change the specs before writing.
void write_model(const TempDir& dir, const ModelConfig& c,
                 const std::function<void(std::vector<TensorSpec>&)>& edit) {
  std::ofstream(dir.path / "config.json") << c.to_json();
  auto specs = model_tensor_specs(c, DType::bf16);
  edit(specs);
  ASSERT_TRUE(write_safetensors(dir.sub("model.safetensors"), specs, {{"format", "pt"}},
                                [&](size_t i, int64_t, std::span<float> chunk) {
                                  TensorGenerator(c, specs[i].name, 0).fill(chunk);
                                })
                  .ok());
}

TEST(ModelLoadWeights, SmallUntiedModelLoads) {
  TempDir dir;
  write_model(dir, small_config(), [](auto&) {});
  auto w = load_weights(dir.path.string(), LoadFormat::safetensors);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->lm_head.shape, (std::vector<int64_t>{300, 128}));
  EXPECT_EQ(&w->output_embedding(), &w->lm_head);
  EXPECT_EQ(w->layers[1].k_proj_b.shape, std::vector<int64_t>{64});
  EXPECT_EQ(w->layers[0].o_proj_w.shape, (std::vector<int64_t>{128, 128}));
}

TEST(ModelLoadWeights, MissingTensorIsNamed) {
  TempDir dir;
  write_model(dir, small_config(), [](std::vector<TensorSpec>& specs) {
    std::erase_if(specs, [](const TensorSpec& s) {
      return s.name == "model.layers.1.self_attn.k_proj.bias";
    });
  });
  auto w = load_weights(dir.path.string(), LoadFormat::safetensors);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, "weights_missing_tensor");
  EXPECT_NE(w.error().message.find("missing tensor 'model.layers.1.self_attn.k_proj.bias' "
                                   "(expected shape [64])"),
            std::string::npos)
      << w.error().message;
}

TEST(ModelLoadWeights, UntiedModelWithoutLmHead) {
  TempDir dir;
  write_model(dir, small_config(), [](std::vector<TensorSpec>& specs) { specs.pop_back(); });
  auto w = load_weights(dir.path.string(), LoadFormat::safetensors);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("'lm_head.weight'"), std::string::npos);
}

TEST(ModelLoadWeights, WrongShapeIsNamed) {
  TempDir dir;
  write_model(dir, small_config(), [](std::vector<TensorSpec>& specs) {
    for (TensorSpec& s : specs) {
      if (s.name == "model.layers.0.mlp.down_proj.weight") s.shape = {128, 95};
    }
  });
  auto w = load_weights(dir.path.string(), LoadFormat::safetensors);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, "weights_shape_mismatch");
  EXPECT_NE(w.error().message.find("tensor 'model.layers.0.mlp.down_proj.weight' has shape "
                                   "[128, 95], expected [128, 96]"),
            std::string::npos)
      << w.error().message;
}

TEST(ModelLoadWeights, TruncatedFile) {
  TempDir dir;
  write_model(dir, small_config(), [](auto&) {});
  fs::resize_file(dir.path / "model.safetensors",
                  fs::file_size(dir.path / "model.safetensors") / 2);
  auto w = load_weights(dir.path.string(), LoadFormat::safetensors);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, "weights_truncated");
}

TEST(ModelLoadWeights, MissingFilesAndConfig) {
  TempDir dir;
  EXPECT_EQ(load_weights(dir.path.string(), LoadFormat::safetensors).error().code,
            "config_not_found");
  EXPECT_EQ(load_weights(dir.path.string(), LoadFormat::dummy).error().code, "config_not_found");
  std::ofstream(dir.path / "config.json") << small_config().to_json();
  EXPECT_EQ(load_weights(dir.path.string(), LoadFormat::safetensors).error().code,
            "weights_not_found");
  auto dummy = load_weights(dir.path.string(), LoadFormat::dummy, 5);
  ASSERT_TRUE(dummy.ok());
  EXPECT_EQ(dummy->lm_head.shape, (std::vector<int64_t>{300, 128}));
}

}  // namespace
}  // namespace cacheon::engine
