#include "engine/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/model/float_convert.h"

static_assert(std::endian::native == std::endian::little, "safetensors is little-endian");

namespace cacheon::engine {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kMaxRank = 8;
constexpr int64_t kMaxNumel = int64_t(1) << 48;
constexpr size_t kMaxJsonDepth = 8;
constexpr uint64_t kMaxIndexBytes = 64'000'000;

Error invalid(const std::string& path, const std::string& msg) {
  return Error{"weights_invalid", path + ": " + msg};
}
Error truncated(const std::string& path, const std::string& msg) {
  return Error{"weights_truncated", path + ": " + msg};
}

// Deeper nesting than a safetensors header ever needs is refused before parsing, so a hostile
// header cannot make the parser or the value's destructor recurse deeply.
bool json_depth_ok(std::string_view s, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return true;
}

bool get_u64(const json& j, uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    out = uint64_t(j.get<int64_t>());
    return true;
  }
  return false;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Result<DType> dtype_from_st_name(const std::string& name) {
  if (name == "F32") return DType::f32;
  if (name == "F16") return DType::f16;
  if (name == "BF16") return DType::bf16;
  return Error{"invalid_argument", name};
}

// Numel of a shape, or -1 when a dimension is negative or the product exceeds kMaxNumel.
int64_t checked_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && n > kMaxNumel / d)) return -1;
    n *= d;
  }
  return n;
}

void convert(const unsigned char* src, DType dtype, size_t count, float* dst) {
  switch (dtype) {
    case DType::f32:
      std::memcpy(dst, src, count * 4);
      return;
    case DType::bf16:
      for (size_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    case DType::f16:
      for (size_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      return;
  }
}

}  // namespace

size_t dtype_size(DType d) { return d == DType::f32 ? 4 : 2; }

const char* dtype_name(DType d) {
  switch (d) {
    case DType::f32:
      return "F32";
    case DType::f16:
      return "F16";
    case DType::bf16:
      return "BF16";
  }
  return "?";
}

const char* torch_name(DType d) {
  switch (d) {
    case DType::f32:
      return "float32";
    case DType::f16:
      return "float16";
    case DType::bf16:
      return "bfloat16";
  }
  return "?";
}

Result<DType> dtype_from_torch_name(const std::string& n) {
  if (n == "float32") return DType::f32;
  if (n == "float16") return DType::f16;
  if (n == "bfloat16") return DType::bf16;
  return Error{"invalid_argument", "dtype '" + n + "' is not one of bfloat16, float16, float32"};
}

float round_to_dtype(float v, DType d) {
  switch (d) {
    case DType::f32:
      return v;
    case DType::f16:
      return f16_to_f32(f32_to_f16(v));
    case DType::bf16:
      return bf16_to_f32(f32_to_bf16(v));
  }
  return v;
}

int64_t TensorInfo::numel() const { return checked_numel(shape); }

// ---- SafetensorsFile ----

struct SafetensorsFile::Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr != nullptr) munmap(addr, size);
  }
};

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error{"weights_not_found", path + ": cannot open: " + std::strerror(errno)};
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid(path, "not a regular file");
  }
  auto map = std::make_shared<Mapping>();
  map->size = size_t(st.st_size);
  if (map->size < 8) {
    ::close(fd);
    return truncated(path, "file is " + std::to_string(map->size) +
                               " bytes, shorter than the 8-byte header length");
  }
  map->addr = mmap(nullptr, map->size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map->addr == MAP_FAILED) {
    map->addr = nullptr;
    return invalid(path, std::string("cannot map: ") + std::strerror(errno));
  }
  const auto* bytes = static_cast<const unsigned char*>(map->addr);
  uint64_t n = 0;
  std::memcpy(&n, bytes, 8);
  if (n > kMaxSafetensorsHeader) {
    return invalid(path, "header length " + std::to_string(n) + " exceeds the limit of " +
                             std::to_string(kMaxSafetensorsHeader) + " bytes");
  }
  if (n > map->size - 8) {
    return truncated(path, "header length " + std::to_string(n) + " runs past the end of the " +
                               std::to_string(map->size) + "-byte file");
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes + 8), size_t(n));
  if (!json_depth_ok(text, kMaxJsonDepth)) return invalid(path, "header JSON nests too deeply");
  const json header = json::parse(text.begin(), text.end(), nullptr, false);
  if (header.is_discarded()) return invalid(path, "header is not valid JSON");
  if (!header.is_object()) return invalid(path, "header is not a JSON object");

  SafetensorsFile f;
  f.path_ = path;
  const uint64_t data_size = map->size - 8 - n;
  struct Range {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return invalid(path, "__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string())
          return invalid(path, "__metadata__ value of '" + k + "' is not a string");
        f.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object()) return invalid(path, where + " is not an object");
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) {
      return invalid(path, where + " has no dtype string");
    }
    TensorInfo info;
    const std::string dt = entry["dtype"].get<std::string>();
    auto dtype = dtype_from_st_name(dt);
    if (!dtype.ok()) {
      return invalid(path,
                     where + " has dtype " + dt + "; the engine reads BF16, F16 and F32 only");
    }
    info.dtype = *dtype;
    if (!entry.contains("shape") || !entry["shape"].is_array()) {
      return invalid(path, where + " has no shape array");
    }
    if (entry["shape"].size() > size_t(kMaxRank)) {
      return invalid(path, where + " has rank " + std::to_string(entry["shape"].size()) +
                               " (at most " + std::to_string(kMaxRank) + ")");
    }
    for (const json& d : entry["shape"]) {
      uint64_t v = 0;
      if (!get_u64(d, v) || v > uint64_t(kMaxNumel)) {
        return invalid(path, where + " has a shape entry that is not a non-negative integer");
      }
      info.shape.push_back(int64_t(v));
    }
    const int64_t numel = checked_numel(info.shape);
    if (numel < 0) return invalid(path, where + " has too many elements: " + shape_str(info.shape));
    const json& offs = entry.contains("data_offsets") ? entry["data_offsets"] : json();
    if (!offs.is_array() || offs.size() != 2 || !get_u64(offs[0], info.begin) ||
        !get_u64(offs[1], info.end)) {
      return invalid(path, where + " has no data_offsets [begin, end] of non-negative integers");
    }
    if (info.begin > info.end) {
      return invalid(path, where + " has data_offsets begin " + std::to_string(info.begin) +
                               " after end " + std::to_string(info.end));
    }
    const uint64_t want = uint64_t(numel) * dtype_size(info.dtype);
    if (info.end - info.begin != want) {
      return invalid(path, where + " of shape " + shape_str(info.shape) + " and dtype " + dt +
                               " needs " + std::to_string(want) + " bytes but data_offsets span " +
                               std::to_string(info.end - info.begin));
    }
    if (info.end > data_size) {
      return truncated(path, where + " needs data bytes [" + std::to_string(info.begin) + ", " +
                                 std::to_string(info.end) + ") but the data section has only " +
                                 std::to_string(data_size) + " bytes");
    }
    auto [it, inserted] = f.tensors_.emplace(name, std::move(info));
    ranges.push_back({it->second.begin, it->second.end, &it->first});
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end) {
      return invalid(path, "tensors '" + *ranges[i - 1].name + "' and '" + *ranges[i].name +
                               "' overlap in the data section");
    }
  }
  f.data_ = bytes + 8 + n;
  f.map_ = std::move(map);
  return f;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

Result<Tensor> SafetensorsFile::read(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) {
    return Error{"weights_missing_tensor", path_ + ": no tensor '" + name + "'"};
  }
  Tensor t;
  t.shape = info->shape;
  t.data.resize(size_t(info->numel()));
  convert(data_ + info->begin, info->dtype, t.data.size(), t.data.data());
  return t;
}

// ---- SafetensorsModel ----

namespace {

// A shard name from an index: a relative path that stays inside the model directory.
bool safe_shard_name(const std::string& s) {
  if (s.empty() || s.size() > 4096 || s.front() == '/') return false;
  if (s.find('\\') != std::string::npos || s.find('\0') != std::string::npos) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t slash = s.find('/', start);
    if (slash == std::string::npos) slash = s.size();
    const std::string_view part(s.data() + start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = slash + 1;
  }
  return true;
}

Result<std::string> read_small_file(const fs::path& p, uint64_t limit) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec) return Error{"weights_not_found", p.string() + ": " + ec.message()};
  if (size > limit) {
    return invalid(p.string(),
                   "is " + std::to_string(size) + " bytes (limit " + std::to_string(limit) + ")");
  }
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in) return Error{"weights_not_found", p.string() + ": cannot read"};
  return ss.str();
}

}  // namespace

Result<SafetensorsModel> SafetensorsModel::open(const std::string& model_dir) {
  const fs::path dir(model_dir);
  SafetensorsModel m;
  std::error_code ec;
  if (fs::exists(dir / "model.safetensors", ec)) {
    auto f = SafetensorsFile::open((dir / "model.safetensors").string());
    if (!f.ok()) return f.error();
    for (const auto& [name, info] : f->tensors()) m.where_[name] = 0;
    m.files_.push_back(std::move(*f));
    return m;
  }
  const fs::path index_path = dir / "model.safetensors.index.json";
  if (!fs::exists(index_path, ec)) {
    return Error{"weights_not_found", model_dir +
                                          ": no model.safetensors or "
                                          "model.safetensors.index.json"};
  }
  const std::string ip = index_path.string();
  auto text = read_small_file(index_path, kMaxIndexBytes);
  if (!text.ok()) return text.error();
  if (!json_depth_ok(*text, kMaxJsonDepth)) return invalid(ip, "JSON nests too deeply");
  const json index = json::parse(*text, nullptr, false);
  if (index.is_discarded() || !index.is_object()) return invalid(ip, "not a JSON object");
  if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
    return invalid(ip, "no weight_map object");
  }
  std::map<std::string, size_t> shard_ids;
  std::vector<std::pair<std::string, std::string>> entries;  // tensor, shard
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) return invalid(ip, "weight_map entry '" + name + "' is not a string");
    const std::string s = shard.get<std::string>();
    if (!safe_shard_name(s)) {
      return invalid(ip, "shard name '" + s + "' of tensor '" + name +
                             "' is not a relative path inside the model directory");
    }
    shard_ids.emplace(s, 0);
    entries.emplace_back(name, s);
  }
  for (auto& [shard, id] : shard_ids) {
    auto f = SafetensorsFile::open((dir / shard).string());
    if (!f.ok()) return f.error();
    id = m.files_.size();
    m.files_.push_back(std::move(*f));
  }
  for (const auto& [name, shard] : entries) {
    const size_t id = shard_ids.at(shard);
    if (m.files_[id].find(name) == nullptr) {
      return Error{"weights_missing_tensor", ip + ": tensor '" + name + "' is mapped to " + shard +
                                                 ", which does not contain it"};
    }
    m.where_[name] = id;
  }
  return m;
}

const TensorInfo* SafetensorsModel::find(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : files_[it->second].find(name);
}

Result<Tensor> SafetensorsModel::read(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) return Error{"weights_missing_tensor", "no tensor '" + name + "'"};
  return files_[it->second].read(name);
}

std::vector<std::string> SafetensorsModel::names() const {
  std::vector<std::string> out;
  for (const auto& [name, id] : where_) out.push_back(name);
  return out;
}

std::string SafetensorsModel::file_of(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? std::string() : files_[it->second].path();
}

}  // namespace cacheon::engine
