// make-model: a complete HF-layout Qwen2.5 model directory with synthetic weights.
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/model/synthetic.h"

namespace cacheon::engine {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr uint64_t kMaxTokenizerBytes = 64'000'000;
// Slack over the estimate: filesystem overhead, and room for the system to keep working.
constexpr uint64_t kDiskSlackBytes = 256'000'000;
constexpr uint64_t kProgressBytes = 1'000'000'000;

Error write_failed(const std::string& what) { return Error{"write_failed", what}; }

std::string gb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", double(bytes) / 1e9);
  return buf;
}

Status write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return write_failed(p.string() + ": cannot write");
  return Status::Ok();
}

struct TokenizerFile {
  std::string text;
  json added_tokens;  // tokenizer.json's added_tokens
};

Result<TokenizerFile> read_tokenizer(const std::string& path, int64_t vocab_size) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return Error{"tokenizer_not_found", path + ": " + ec.message()};
  if (size > kMaxTokenizerBytes) return Error{"tokenizer_invalid", path + ": larger than 64 MB"};
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in) return Error{"tokenizer_not_found", path + ": cannot read"};
  TokenizerFile t{ss.str(), json::array()};
  const json j = json::parse(t.text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("model") || !j["model"].is_object() ||
      !j["model"].contains("vocab") || !j["model"]["vocab"].is_object()) {
    return Error{"tokenizer_invalid", path + ": not a tokenizer.json with model.vocab"};
  }
  // Every id the tokenizer can produce must have an embedding row.
  int64_t max_id = -1;
  for (const auto& [tok, id] : j["model"]["vocab"].items()) {
    if (id.is_number_integer()) max_id = std::max(max_id, id.get<int64_t>());
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    t.added_tokens = j["added_tokens"];
    for (const json& a : t.added_tokens) {
      if (a.is_object() && a.contains("id") && a["id"].is_number_integer()) {
        max_id = std::max(max_id, a["id"].get<int64_t>());
      }
    }
  }
  if (max_id >= vocab_size) {
    return Error{"tokenizer_invalid", path + ": token id " + std::to_string(max_id) +
                                          " is beyond the model's vocab_size " +
                                          std::to_string(vocab_size)};
  }
  return t;
}

// Qwen2.5-Instruct's tokenizer_config.json, with added_tokens_decoder taken from the
// tokenizer.json actually shipped (so the two always agree).
std::string tokenizer_config(const json& added_tokens) {
  json decoder = json::object();
  for (const json& a : added_tokens) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer()) continue;
    decoder[std::to_string(a["id"].get<int64_t>())] = {
        {"content", a.value("content", "")},
        {"lstrip", a.value("lstrip", false)},
        {"normalized", a.value("normalized", false)},
        {"rstrip", a.value("rstrip", false)},
        {"single_word", a.value("single_word", false)},
        {"special", a.value("special", true)}};
  }
  const json cfg = {
      {"add_bos_token", false},
      {"add_prefix_space", false},
      {"added_tokens_decoder", decoder},
      {"additional_special_tokens",
       {"<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
        "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
        "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"}},
      {"bos_token", nullptr},
      {"chat_template", kQwen25ChatTemplate},
      {"clean_up_tokenization_spaces", false},
      {"eos_token", "<|im_end|>"},
      {"errors", "replace"},
      {"model_max_length", 131072},
      {"pad_token", "<|endoftext|>"},
      {"split_special_tokens", false},
      {"tokenizer_class", "Qwen2Tokenizer"},
      {"unk_token", nullptr},
  };
  return cfg.dump(2) + "\n";
}

// Token ids and nothing else: the real Qwen2.5-Instruct file also sets sampling defaults
// (temperature 0.7, top_p 0.8, repetition_penalty 1.05-1.1), which servers such as vLLM apply
// to requests that leave them out. A synthetic model has no tuned defaults, and keeping them out
// makes the request's own parameters the whole story for every server under test.
std::string generation_config(const ModelConfig& c) {
  json eos = json::array();
  for (int32_t id : c.eos_token_ids) eos.push_back(id);
  eos.push_back(151643);  // <|endoftext|> also ends generation, as in the real file
  const json j = {{"bos_token_id", c.bos_token_id},
                  {"do_sample", false},
                  {"eos_token_id", eos},
                  {"pad_token_id", 151643},
                  {"transformers_version", "4.43.1"}};
  return j.dump(2) + "\n";
}

struct Shard {
  std::string file;
  std::vector<TensorSpec> specs;
};

std::vector<Shard> plan_shards(const std::vector<TensorSpec>& specs, uint64_t max_bytes,
                               uint64_t& total_bytes) {
  std::vector<std::vector<TensorSpec>> groups(1);
  uint64_t in_group = 0;
  total_bytes = 0;
  for (const TensorSpec& s : specs) {
    TensorInfo probe;
    probe.shape = s.shape;
    const uint64_t bytes = uint64_t(probe.numel()) * dtype_size(s.dtype);
    if (!groups.back().empty() && in_group + bytes > max_bytes) {
      groups.emplace_back();
      in_group = 0;
    }
    groups.back().push_back(s);
    in_group += bytes;
    total_bytes += bytes;
  }
  std::vector<Shard> shards;
  for (size_t i = 0; i < groups.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, groups.size());
    shards.push_back({groups.size() == 1 ? "model.safetensors" : name, std::move(groups[i])});
  }
  return shards;
}

Status write_weights(const fs::path& dir, const ModelConfig& config,
                     const std::vector<Shard>& shards, uint64_t total_bytes,
                     const MakeModelOptions& opt) {
  const std::map<std::string, std::string> metadata = {{"format", "pt"}};
  uint64_t done_before = 0;  // bytes of finished shards
  int last_pct = -1;
  for (const Shard& shard : shards) {
    if (opt.progress) opt.progress("make-model: writing " + shard.file);
    std::unique_ptr<TensorGenerator> gen;
    size_t gen_index = size_t(-1);
    auto fill = [&](size_t i, int64_t, std::span<float> chunk) {
      if (i != gen_index) {
        gen = std::make_unique<TensorGenerator>(config, shard.specs[i].name, opt.seed);
        gen_index = i;
      }
      gen->fill(chunk);
    };
    uint64_t shard_bytes = 0;
    auto on_bytes = [&](uint64_t n) {
      shard_bytes = n;
      const int pct =
          int(100.0 * double(done_before + n) / double(std::max<uint64_t>(total_bytes, 1)));
      // Percentages only for large writes: a small model is done before anyone looks.
      if (opt.progress && total_bytes >= kProgressBytes && pct / 5 != last_pct / 5) {
        last_pct = pct;
        opt.progress("make-model: " + gb(done_before + n) + " of " + gb(total_bytes) + " (" +
                     std::to_string(pct) + "%)");
      }
    };
    if (Status s =
            write_safetensors((dir / shard.file).string(), shard.specs, metadata, fill, on_bytes);
        !s)
      return s;
    done_before += shard_bytes;
  }
  if (shards.size() > 1) {
    json index = {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", json::object()}};
    for (const Shard& shard : shards) {
      for (const TensorSpec& s : shard.specs) index["weight_map"][s.name] = shard.file;
    }
    return write_text(dir / "model.safetensors.index.json", index.dump(2) + "\n");
  }
  return Status::Ok();
}

// A fresh directory beside `out`, so the final rename stays on one filesystem.
Result<fs::path> make_temp_dir(const fs::path& out, const char* tag) {
  std::string templ =
      (out.parent_path() / ("." + out.filename().string() + tag + "XXXXXX")).string();
  if (mkdtemp(templ.data()) == nullptr) {
    return write_failed(out.parent_path().string() + ": cannot create a temporary directory");
  }
  return fs::path(templ);
}

Status move_into_place(const fs::path& tmp, const fs::path& out) {
  std::error_code ec;
  fs::permissions(tmp, fs::perms(0755), ec);  // mkdtemp makes 0700; a model dir is shared
  if (fs::exists(out, ec)) {
    if (fs::is_empty(out, ec)) {
      fs::remove(out, ec);
    } else {
      auto old = make_temp_dir(out, ".old-");
      if (!old.ok()) return old.error();
      fs::remove(*old, ec);
      fs::rename(out, *old, ec);
      if (ec) return write_failed(out.string() + ": cannot move aside: " + ec.message());
      fs::rename(tmp, out, ec);
      if (ec) return write_failed(out.string() + ": cannot rename into place: " + ec.message());
      fs::remove_all(*old, ec);
      return Status::Ok();
    }
  }
  fs::rename(tmp, out, ec);
  if (ec) return write_failed(out.string() + ": cannot rename into place: " + ec.message());
  return Status::Ok();
}

}  // namespace

Status make_model(const MakeModelOptions& opt) {
  auto dtype = dtype_from_torch_name(opt.dtype);
  if (!dtype.ok()) return dtype.error();
  auto config = synthetic_config(opt.shape, *dtype);
  if (!config.ok()) return config.error();
  if (opt.out_dir.empty()) return Error{"invalid_argument", "no output directory given"};
  if (opt.max_shard_bytes == 0) return Error{"invalid_argument", "max_shard_bytes is 0"};
  const auto specs = model_tensor_specs(*config, *dtype);
  uint64_t total = 0;
  const auto shards = plan_shards(specs, opt.max_shard_bytes, total);
  if (opt.shape == "qwen2.5-72b" && !opt.force_large) {
    return Error{"shape_too_large", "qwen2.5-72b writes " + gb(total) +
                                        " of weights; pass --force-large to write it anyway"};
  }
  fs::path out = fs::absolute(fs::path(opt.out_dir)).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();  // "dir/" names dir
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec)) {
      return Error{"output_exists", out.string() + " exists and is not a directory"};
    }
    if (!fs::is_empty(out, ec) && !opt.force) {
      return Error{"output_exists", out.string() + " is not empty; pass --force to replace it"};
    }
  }
  const std::string tok_path =
      opt.tokenizer_json_path.empty() ? kDefaultTokenizerJson : opt.tokenizer_json_path;
  if (opt.tokenizer_json_path.empty() && !fs::exists(tok_path, ec)) {
    return Error{"tokenizer_not_found", std::string("no tokenizer.json given and the default ") +
                                            kDefaultTokenizerJson + " does not exist"};
  }
  auto tok = read_tokenizer(tok_path, config->vocab_size);
  if (!tok.ok()) return tok.error();

  fs::create_directories(out.parent_path(), ec);
  if (ec) return write_failed(out.parent_path().string() + ": " + ec.message());
  const uint64_t need = total + tok->text.size() + kDiskSlackBytes;
  const auto space = fs::space(out.parent_path(), ec);
  if (!ec && space.available < need) {
    return Error{"insufficient_disk", out.parent_path().string() + " has " + gb(space.available) +
                                          " free; " + opt.shape + " needs about " + gb(need)};
  }
  auto tmp = make_temp_dir(out, ".partial-");
  if (!tmp.ok()) return tmp.error();
  if (opt.progress) {
    opt.progress("make-model: " + opt.shape + " (" + opt.dtype + ", seed " +
                 std::to_string(opt.seed) + "), " + gb(total) + " of weights in " +
                 std::to_string(shards.size()) + " file(s) -> " + out.string());
  }
  Status s = write_text(*tmp / "config.json", config->to_json());
  if (s) s = write_text(*tmp / "generation_config.json", generation_config(*config));
  if (s) s = write_text(*tmp / "tokenizer.json", tok->text);
  if (s) s = write_text(*tmp / "tokenizer_config.json", tokenizer_config(tok->added_tokens));
  if (s) s = write_weights(*tmp, *config, shards, total, opt);
  if (s) s = move_into_place(*tmp, out);
  if (!s) {
    fs::remove_all(*tmp, ec);
    return s;
  }
  if (opt.progress) opt.progress("make-model: done: " + out.string());
  return Status::Ok();
}

}  // namespace cacheon::engine
