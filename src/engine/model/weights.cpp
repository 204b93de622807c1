#include "engine/model/weights.h"

#include <map>

#include "engine/model/safetensors.h"
#include "engine/model/synthetic.h"

namespace cacheon::engine {
namespace {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Where each expected tensor goes in ModelWeights.
std::map<std::string, Tensor*> destinations(ModelWeights& w) {
  std::map<std::string, Tensor*> d;
  d["model.embed_tokens.weight"] = &w.embed_tokens;
  d["model.norm.weight"] = &w.norm;
  // Tied: a stored lm_head.weight is ignored, as transformers ties it to the embedding anyway.
  if (!w.config.tie_word_embeddings) d["lm_head.weight"] = &w.lm_head;
  for (size_t i = 0; i < w.layers.size(); ++i) {
    LayerWeights& l = w.layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    d[p + "input_layernorm.weight"] = &l.input_layernorm;
    d[p + "self_attn.q_proj.weight"] = &l.q_proj_w;
    d[p + "self_attn.q_proj.bias"] = &l.q_proj_b;
    d[p + "self_attn.k_proj.weight"] = &l.k_proj_w;
    d[p + "self_attn.k_proj.bias"] = &l.k_proj_b;
    d[p + "self_attn.v_proj.weight"] = &l.v_proj_w;
    d[p + "self_attn.v_proj.bias"] = &l.v_proj_b;
    d[p + "self_attn.o_proj.weight"] = &l.o_proj_w;
    d[p + "post_attention_layernorm.weight"] = &l.post_attention_layernorm;
    d[p + "mlp.gate_proj.weight"] = &l.gate_proj_w;
    d[p + "mlp.up_proj.weight"] = &l.up_proj_w;
    d[p + "mlp.down_proj.weight"] = &l.down_proj_w;
  }
  return d;
}

Status load_dummy(ModelWeights& w, uint64_t seed) {
  auto dtype = dtype_from_torch_name(w.config.torch_dtype);
  if (!dtype.ok()) return Error{"config_invalid", dtype.error().message};
  auto dest = destinations(w);
  for (const TensorSpec& spec : model_tensor_specs(w.config, *dtype)) {
    Tensor& t = *dest.at(spec.name);
    t.shape = spec.shape;
    t.data.resize(size_t(t.numel()));
    TensorGenerator(w.config, spec.name, seed).fill(t.data);
    // The values make-model's file would hold: generated, then stored in the config's dtype.
    for (float& v : t.data) v = round_to_dtype(v, *dtype);
  }
  return Status::Ok();
}

Status load_files(ModelWeights& w, const std::string& model_dir) {
  auto model = SafetensorsModel::open(model_dir);
  if (!model.ok()) return model.error();
  auto dest = destinations(w);
  // Check every name and shape before converting anything, so a bad checkpoint fails fast.
  for (const TensorSpec& spec : model_tensor_specs(w.config, DType::f32)) {
    const TensorInfo* info = model->find(spec.name);
    if (info == nullptr) {
      return Error{"weights_missing_tensor", model_dir + ": missing tensor '" + spec.name +
                                                 "' (expected shape " + shape_str(spec.shape) +
                                                 ")"};
    }
    if (info->shape != spec.shape) {
      return Error{"weights_shape_mismatch", model->file_of(spec.name) + ": tensor '" + spec.name +
                                                 "' has shape " + shape_str(info->shape) +
                                                 ", expected " + shape_str(spec.shape) +
                                                 " from config.json"};
    }
  }
  for (const TensorSpec& spec : model_tensor_specs(w.config, DType::f32)) {
    auto t = model->read(spec.name);
    if (!t.ok()) return t.error();
    *dest.at(spec.name) = std::move(*t);
  }
  return Status::Ok();
}

}  // namespace

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Result<ModelWeights> load_weights(const std::string& model_dir, LoadFormat format,
                                  uint64_t dummy_seed) {
  auto config = ModelConfig::load(model_dir);
  if (!config.ok()) return config.error();
  ModelWeights w;
  w.config = std::move(*config);
  w.layers.resize(size_t(w.config.num_hidden_layers));
  const Status s =
      format == LoadFormat::dummy ? load_dummy(w, dummy_seed) : load_files(w, model_dir);
  if (!s.ok()) return s.error();
  return w;
}

}  // namespace cacheon::engine
