// config.json parsing. HF semantics: an absent optional field takes Qwen2Config's default
// (num_key_value_heads = num_attention_heads, rope_theta 10000, rms_norm_eps 1e-6,
// max_position_embeddings 32768, tie_word_embeddings false), so the engine computes what
// transformers computes. The shape fields have no sensible default and are required.
#include "engine/model/config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

namespace cacheon::engine {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxConfigBytes = 1'000'000;

Error bad(const std::string& msg) { return Error{"config_invalid", "config.json: " + msg}; }

std::string show(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// An integer field within [lo, hi]. Absent: `def` when given, else an error.
Status get_int(const json& root, const char* key, int64_t lo, int64_t hi, int64_t& out,
               std::optional<int64_t> def = std::nullopt) {
  if (!root.contains(key) || root[key].is_null()) {
    if (def) {
      out = *def;
      return Status::Ok();
    }
    return bad(std::string(key) + " is missing");
  }
  const json& v = root[key];
  if (!v.is_number_integer()) {
    return bad(std::string(key) + " must be an integer, got " + show(v));
  }
  // Unsigned values above INT64_MAX would wrap: compare them unsigned.
  const bool in_range = v.is_number_unsigned()
                            ? v.get<uint64_t>() <= uint64_t(hi) && int64_t(v.get<uint64_t>()) >= lo
                            : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
  if (!in_range) {
    return bad(std::string(key) + " = " + show(v) + " is out of range [" + std::to_string(lo) +
               ", " + std::to_string(hi) + "]");
  }
  out = v.get<int64_t>();
  return Status::Ok();
}

// A finite number in (lo, hi].
Status get_number(const json& v, const std::string& key, double lo, double hi, double& out) {
  if (!v.is_number()) return bad(key + " must be a number, got " + show(v));
  const double d = v.get<double>();
  if (!std::isfinite(d) || d <= lo || d > hi) {
    std::ostringstream ss;
    ss << key << " = " << show(v) << " is out of range (" << lo << ", " << hi << "]";
    return bad(ss.str());
  }
  out = d;
  return Status::Ok();
}

Status check_token_id(const json& v, const char* key, int64_t vocab, int32_t& out) {
  if (!v.is_number_integer()) return bad(std::string(key) + " must be an integer, got " + show(v));
  const bool ok = !v.is_number_unsigned() ? (v.get<int64_t>() >= 0 && v.get<int64_t>() < vocab)
                                          : v.get<uint64_t>() < uint64_t(vocab);
  if (!ok) {
    return bad(std::string(key) + " = " + show(v) + " is outside the vocabulary [0, " +
               std::to_string(vocab) + ")");
  }
  out = int32_t(v.get<int64_t>());
  return Status::Ok();
}

// Only unscaled RoPE is implemented: scaling of any kind is refused by name.
Status check_rope_type(const json& obj, const char* where) {
  for (const char* key : {"rope_type", "type"}) {
    if (!obj.contains(key)) continue;
    if (!obj[key].is_string()) return bad(std::string(where) + "." + key + " must be a string");
    const std::string t = obj[key].get<std::string>();
    if (t != "default") {
      return bad(std::string(where) + "." + key + " = \"" + t +
                 "\": RoPE scaling is not implemented (only \"default\", unscaled RoPE)");
    }
  }
  return Status::Ok();
}

Status parse_rope(const json& root, ModelConfig& c) {
  std::optional<double> top, nested;
  if (root.contains("rope_theta") && !root["rope_theta"].is_null()) {
    double t = 0;
    if (Status s = get_number(root["rope_theta"], "rope_theta", 0, 1e12, t); !s) return s;
    top = t;
  }
  if (root.contains("rope_scaling") && !root["rope_scaling"].is_null()) {
    const json& rs = root["rope_scaling"];
    if (!rs.is_object()) return bad("rope_scaling must be an object or null");
    if (Status s = check_rope_type(rs, "rope_scaling"); !s) return s;
    if (!rs.contains("rope_type") && !rs.contains("type")) {
      return bad("rope_scaling has no rope_type: RoPE scaling is not implemented");
    }
  }
  if (root.contains("rope_parameters") && !root["rope_parameters"].is_null()) {
    const json& rp = root["rope_parameters"];
    if (!rp.is_object()) return bad("rope_parameters must be an object or null");
    if (Status s = check_rope_type(rp, "rope_parameters"); !s) return s;
    for (const auto& [k, v] : rp.items()) {
      if (k == "rope_theta") {
        double t = 0;
        if (Status s = get_number(v, "rope_parameters.rope_theta", 0, 1e12, t); !s) return s;
        nested = t;
      } else if (k == "partial_rotary_factor") {
        if (!v.is_number() || v.get<double>() != 1.0) {
          return bad("rope_parameters.partial_rotary_factor = " + show(v) +
                     ": partial rotary embeddings are not implemented (only 1.0)");
        }
      } else if (k != "rope_type" && k != "type") {
        return bad("rope_parameters." + k + " is not supported (only rope_theta, rope_type)");
      }
    }
  }
  if (top && nested && *top != *nested) {
    return bad("rope_theta and rope_parameters.rope_theta disagree");
  }
  c.rope_theta = nested ? *nested : top ? *top : 10000.0;
  return Status::Ok();
}

Status check_architecture(const json& root, ModelConfig& c) {
  const bool has_arch = root.contains("architectures") && !root["architectures"].is_null();
  if (has_arch) {
    const json& a = root["architectures"];
    if (!a.is_array() || a.size() != 1 || !a[0].is_string() ||
        a[0].get<std::string>() != "Qwen2ForCausalLM") {
      return bad("architectures = " + show(a) + ": only [\"Qwen2ForCausalLM\"] is supported");
    }
  }
  if (root.contains("model_type")) {
    const json& t = root["model_type"];
    if (!t.is_string() || t.get<std::string>() != "qwen2") {
      return bad("model_type = " + show(t) + ": only \"qwen2\" is supported");
    }
  } else if (!has_arch) {
    return bad("neither architectures nor model_type is given");
  }
  c.architecture = "Qwen2ForCausalLM";
  if (root.contains("hidden_act") &&
      (!root["hidden_act"].is_string() || root["hidden_act"].get<std::string>() != "silu")) {
    return bad("hidden_act = " + show(root["hidden_act"]) + ": only \"silu\" is supported");
  }
  if (root.contains("use_sliding_window") && !root["use_sliding_window"].is_null()) {
    if (!root["use_sliding_window"].is_boolean()) return bad("use_sliding_window must be a bool");
    if (root["use_sliding_window"].get<bool>()) {
      return bad("use_sliding_window = true: sliding-window attention is not implemented");
    }
  }
  if (root.contains("quantization_config") && !root["quantization_config"].is_null()) {
    return bad("quantization_config is given: quantized checkpoints are not supported");
  }
  return Status::Ok();
}

Status parse_fields(const json& root, ModelConfig& c) {
  if (Status s = check_architecture(root, c); !s) return s;
  if (Status s = get_int(root, "vocab_size", 1, int64_t(1) << 22, c.vocab_size); !s) return s;
  if (Status s = get_int(root, "hidden_size", 1, 65536, c.hidden_size); !s) return s;
  if (Status s = get_int(root, "intermediate_size", 1, int64_t(1) << 20, c.intermediate_size); !s)
    return s;
  if (Status s = get_int(root, "num_hidden_layers", 1, 1024, c.num_hidden_layers); !s) return s;
  if (Status s = get_int(root, "num_attention_heads", 1, 1024, c.num_attention_heads); !s) return s;
  if (Status s = get_int(root, "num_key_value_heads", 1, c.num_attention_heads,
                         c.num_key_value_heads, c.num_attention_heads);
      !s)
    return s;
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return bad("num_key_value_heads = " + std::to_string(c.num_key_value_heads) +
               " does not divide num_attention_heads = " + std::to_string(c.num_attention_heads));
  }
  const bool has_head_dim = root.contains("head_dim") && !root["head_dim"].is_null();
  if (!has_head_dim && c.hidden_size % c.num_attention_heads != 0) {
    return bad("hidden_size = " + std::to_string(c.hidden_size) +
               " is not a multiple of num_attention_heads = " +
               std::to_string(c.num_attention_heads) + " (and no head_dim is given)");
  }
  if (Status s =
          get_int(root, "head_dim", 1, 1024, c.head_dim, c.hidden_size / c.num_attention_heads);
      !s)
    return s;
  if (c.head_dim != 64 && c.head_dim != 128) {
    return bad("head_dim = " + std::to_string(c.head_dim) +
               (has_head_dim ? "" : " (hidden_size / num_attention_heads)") +
               " is not supported (64 or 128)");
  }
  if (Status s = get_int(root, "max_position_embeddings", 1, int64_t(1) << 24,
                         c.max_position_embeddings, 32768);
      !s)
    return s;
  c.rms_norm_eps = 1e-6;
  if (root.contains("rms_norm_eps") && !root["rms_norm_eps"].is_null()) {
    if (Status s = get_number(root["rms_norm_eps"], "rms_norm_eps", 0, 0.1, c.rms_norm_eps); !s)
      return s;
  }
  if (Status s = parse_rope(root, c); !s) return s;
  c.tie_word_embeddings = false;
  if (root.contains("tie_word_embeddings") && !root["tie_word_embeddings"].is_null()) {
    if (!root["tie_word_embeddings"].is_boolean()) {
      return bad("tie_word_embeddings must be a bool, got " + show(root["tie_word_embeddings"]));
    }
    c.tie_word_embeddings = root["tie_word_embeddings"].get<bool>();
  }
  // transformers 5 writes `dtype`; 4.x wrote `torch_dtype`. Absent: transformers loads fp32.
  c.torch_dtype = "float32";
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (!root.contains(key) || root[key].is_null()) continue;
    const json& v = root[key];
    const std::string d = v.is_string() ? v.get<std::string>() : "";
    if (d != "bfloat16" && d != "float16" && d != "float32") {
      return bad(std::string(key) + " = " + show(v) + " is not one of bfloat16, float16, float32");
    }
    c.torch_dtype = d;
  }
  if (root.contains("layer_types") && !root["layer_types"].is_null()) {
    const json& lt = root["layer_types"];
    if (!lt.is_array() || int64_t(lt.size()) != c.num_hidden_layers) {
      return bad("layer_types must be a list of num_hidden_layers entries");
    }
    for (const json& t : lt) {
      if (!t.is_string() || t.get<std::string>() != "full_attention") {
        return bad("layer_types entry " + show(t) + ": only \"full_attention\" is implemented");
      }
    }
  }
  c.bos_token_id = -1;
  if (root.contains("bos_token_id") && !root["bos_token_id"].is_null()) {
    if (Status s =
            check_token_id(root["bos_token_id"], "bos_token_id", c.vocab_size, c.bos_token_id);
        !s)
      return s;
  }
  c.eos_token_ids.clear();
  if (root.contains("eos_token_id") && !root["eos_token_id"].is_null()) {
    const json& e = root["eos_token_id"];
    const json list = e.is_array() ? e : json::array({e});
    if (list.size() > 64) return bad("eos_token_id has more than 64 entries");
    for (const json& id : list) {
      int32_t v = 0;
      if (Status s = check_token_id(id, "eos_token_id", c.vocab_size, v); !s) return s;
      c.eos_token_ids.push_back(v);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ModelConfig> ModelConfig::parse(std::string_view text) {
  if (text.size() > kMaxConfigBytes) return bad("larger than 1 MB");
  const json root = json::parse(text.begin(), text.end(), nullptr, false);
  if (root.is_discarded()) return bad("not valid JSON");
  if (!root.is_object()) return bad("not a JSON object");
  ModelConfig c;
  if (Status s = parse_fields(root, c); !s) return s.error();
  return c;
}

Result<ModelConfig> ModelConfig::load(const std::string& model_dir) {
  const std::filesystem::path p = std::filesystem::path(model_dir) / "config.json";
  std::error_code ec;
  const auto size = std::filesystem::file_size(p, ec);
  if (ec) return Error{"config_not_found", p.string() + ": " + ec.message()};
  if (size > kMaxConfigBytes) return bad("larger than 1 MB");
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in) return Error{"config_not_found", p.string() + ": cannot read"};
  return parse(ss.str());
}

std::string ModelConfig::to_json() const {
  // The keys of a Qwen2.5 config.json (sorted, as transformers writes them). RoPE is written
  // top-level: both transformers 4 and 5 and vLLM read that form.
  json j = {
      {"architectures", {architecture}},
      {"attention_dropout", 0.0},
      {"hidden_act", "silu"},
      {"hidden_size", hidden_size},
      {"initializer_range", 0.02},
      {"intermediate_size", intermediate_size},
      {"max_position_embeddings", max_position_embeddings},
      {"max_window_layers", num_hidden_layers},
      {"model_type", "qwen2"},
      {"num_attention_heads", num_attention_heads},
      {"num_hidden_layers", num_hidden_layers},
      {"num_key_value_heads", num_key_value_heads},
      {"rms_norm_eps", rms_norm_eps},
      {"rope_scaling", nullptr},
      {"rope_theta", rope_theta},
      {"sliding_window", max_position_embeddings},
      {"tie_word_embeddings", tie_word_embeddings},
      {"torch_dtype", torch_dtype},
      {"transformers_version", "4.43.1"},
      {"use_cache", true},
      {"use_sliding_window", false},
      {"vocab_size", vocab_size},
  };
  if (num_attention_heads > 0 && head_dim != hidden_size / num_attention_heads) {
    j["head_dim"] = head_dim;
  }
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
  if (eos_token_ids.size() > 1) j["eos_token_id"] = eos_token_ids;
  return j.dump(2) + "\n";
}

}  // namespace cacheon::engine
