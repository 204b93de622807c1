// Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
//   8 bytes: N, the header length, little-endian u64
//   N bytes: a JSON object {name: {"dtype", "shape", "data_offsets": [begin, end]}, ...,
//            "__metadata__": {string: string}} (optional metadata)
//   the data section; offsets are relative to its start.
// Files come from outside, so everything is checked before use: N (<= 100 MB and within the
// file), the JSON (an object, nesting <= 8), every dtype (BF16, F16, F32; others are refused by
// name), every shape (rank <= 8, numel * dtype size == end - begin) and every range (inside the
// data section, no two overlapping). The file is mapped read-only; tensors convert to fp32.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/model/weights.h"

namespace cacheon::engine {

enum class DType { f32, f16, bf16 };

size_t dtype_size(DType d);
const char* dtype_name(DType d);  // "F32", "F16", "BF16": the safetensors spelling
// From config.json's torch_dtype spelling ("float32", "float16", "bfloat16"); any other is an
// "invalid_argument" error.
Result<DType> dtype_from_torch_name(const std::string& torch_dtype);
const char* torch_name(DType d);
// Rounds v to the nearest value representable in d (identity for f32).
float round_to_dtype(float v, DType d);

struct TensorInfo {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets in the data section
  uint64_t end = 0;
  int64_t numel() const;
};

inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

// One .safetensors file. Cheap to copy (the mapping is shared).
// Errors: "weights_not_found" (cannot open), "weights_truncated" (the header or a tensor's data
// lies past the end of the file), "weights_invalid" (anything else malformed).
class SafetensorsFile {
 public:
  static Result<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorInfo* find(const std::string& name) const;
  // fp32 copy of a tensor. Error "weights_missing_tensor" when absent.
  Result<Tensor> read(const std::string& name) const;

 private:
  struct Mapping;
  std::string path_;
  std::shared_ptr<const Mapping> map_;
  const unsigned char* data_ = nullptr;  // start of the data section inside the mapping
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// The tensors of a model directory: `model.safetensors` when present (as transformers prefers
// it), else the shards listed by `model.safetensors.index.json` (`weight_map`: name -> file).
// Shard names must be relative paths inside the directory: no absolute path, no `..`, no
// backslash. Every tensor the index names must be in its shard.
class SafetensorsModel {
 public:
  static Result<SafetensorsModel> open(const std::string& model_dir);

  const TensorInfo* find(const std::string& name) const;
  Result<Tensor> read(const std::string& name) const;  // "weights_missing_tensor" when absent
  std::vector<std::string> names() const;
  // Which file holds `name` (for messages); empty when absent.
  std::string file_of(const std::string& name) const;

 private:
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
};

// ---- Writing ----

struct TensorSpec {
  std::string name;
  DType dtype = DType::bf16;
  std::vector<int64_t> shape;
};

// Produces tensor `index`'s elements in order: called repeatedly with consecutive chunks
// (`first` is the chunk's first element) until the tensor is full, tensors in spec order. Lets
// a writer stream tensors far larger than memory.
using ChunkFiller = std::function<void(size_t index, int64_t first, std::span<float> chunk)>;
// Told the running count of data bytes written (for progress output).
using BytesWritten = std::function<void(uint64_t bytes)>;

// Writes tensors in the order given; the header's keys are sorted, padded with spaces to a
// multiple of 8 bytes (as the reference writer does). Values are rounded to each dtype
// (round-to-nearest-even). Errors: "invalid_argument" (duplicate or empty name, bad shape),
// "write_failed".
Status write_safetensors(const std::string& path, std::span<const TensorSpec> specs,
                         const std::map<std::string, std::string>& metadata,
                         const ChunkFiller& fill, const BytesWritten& on_bytes = {});

struct TensorToWrite {
  DType dtype = DType::bf16;
  std::vector<int64_t> shape;
  std::vector<float> data;  // numel(shape) values
};
// The in-memory form, tensors in name order.
Status write_safetensors(const std::string& path,
                         const std::map<std::string, TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

// The byte size of a file write_safetensors would produce (for disk-space checks).
uint64_t safetensors_file_size(std::span<const TensorSpec> specs,
                               const std::map<std::string, std::string>& metadata);

}  // namespace cacheon::engine
