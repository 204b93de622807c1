// The safetensors writer (used by make-model and by tests that build hostile variants).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/model/float_convert.h"
#include "engine/model/safetensors.h"

namespace cacheon::engine {
namespace {

using nlohmann::json;

constexpr size_t kChunkElems = size_t(1) << 20;

Error bad_arg(std::string msg) { return Error{"invalid_argument", std::move(msg)}; }

struct Header {
  std::string text;  // padded JSON
  uint64_t data_bytes = 0;
};

Result<Header> build_header(std::span<const TensorSpec> specs,
                            const std::map<std::string, std::string>& metadata) {
  json h = json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  std::set<std::string> seen;
  uint64_t off = 0;
  for (const TensorSpec& s : specs) {
    if (s.name.empty() || s.name == "__metadata__")
      return bad_arg("bad tensor name '" + s.name + "'");
    if (!seen.insert(s.name).second) return bad_arg("duplicate tensor name '" + s.name + "'");
    TensorInfo probe;
    probe.shape = s.shape;
    const int64_t numel = probe.numel();
    if (numel < 0 || s.shape.size() > 8) return bad_arg("bad shape for tensor '" + s.name + "'");
    const uint64_t bytes = uint64_t(numel) * dtype_size(s.dtype);
    h[s.name] = {
        {"dtype", dtype_name(s.dtype)}, {"shape", s.shape}, {"data_offsets", {off, off + bytes}}};
    off += bytes;
  }
  Header out;
  out.text = h.dump(-1, ' ', false, json::error_handler_t::replace);
  // The reference writer pads with spaces so that the data section starts 8-byte aligned.
  out.text.append((8 - out.text.size() % 8) % 8, ' ');
  out.data_bytes = off;
  return out;
}

void encode(const float* src, size_t n, DType dtype, unsigned char* dst) {
  switch (dtype) {
    case DType::f32:
      std::memcpy(dst, src, n * 4);
      return;
    case DType::bf16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case DType::f16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_f16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
  }
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};

}  // namespace

Status write_safetensors(const std::string& path, std::span<const TensorSpec> specs,
                         const std::map<std::string, std::string>& metadata,
                         const ChunkFiller& fill, const BytesWritten& on_bytes) {
  auto header = build_header(specs, metadata);
  if (!header.ok()) return header.error();
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  auto fail = [&](const char* what) {
    return Error{"write_failed", path + ": " + what + ": " + std::strerror(errno)};
  };
  if (!f) return fail("cannot create");
  const uint64_t n = header->text.size();
  if (std::fwrite(&n, 8, 1, f.get()) != 1 || std::fwrite(header->text.data(), 1, n, f.get()) != n) {
    return fail("write");
  }
  std::vector<float> chunk(kChunkElems);
  std::vector<unsigned char> bytes(kChunkElems * 4);
  uint64_t written = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    TensorInfo probe;
    probe.shape = specs[i].shape;
    const int64_t numel = probe.numel();
    for (int64_t first = 0; first < numel; first += int64_t(kChunkElems)) {
      const size_t len = size_t(std::min<int64_t>(numel - first, int64_t(kChunkElems)));
      fill(i, first, std::span<float>(chunk.data(), len));
      encode(chunk.data(), len, specs[i].dtype, bytes.data());
      const size_t nbytes = len * dtype_size(specs[i].dtype);
      if (std::fwrite(bytes.data(), 1, nbytes, f.get()) != nbytes) return fail("write");
      written += nbytes;
      if (on_bytes) on_bytes(written);
    }
  }
  // Durable before the caller renames the directory into place.
  if (std::fflush(f.get()) != 0 || fsync(fileno(f.get())) != 0) return fail("flush");
  if (std::fclose(f.release()) != 0) return fail("close");
  return Status::Ok();
}

Status write_safetensors(const std::string& path,
                         const std::map<std::string, TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  std::vector<const TensorToWrite*> data;
  for (const auto& [name, t] : tensors) {
    TensorInfo probe;
    probe.shape = t.shape;
    if (probe.numel() < 0 || size_t(probe.numel()) != t.data.size()) {
      return bad_arg("tensor '" + name + "' has " + std::to_string(t.data.size()) +
                     " values for its shape");
    }
    specs.push_back({name, t.dtype, t.shape});
    data.push_back(&t);
  }
  return write_safetensors(
      path, specs, metadata, [&](size_t i, int64_t first, std::span<float> chunk) {
        std::copy_n(data[i]->data.begin() + first, chunk.size(), chunk.begin());
      });
}

uint64_t safetensors_file_size(std::span<const TensorSpec> specs,
                               const std::map<std::string, std::string>& metadata) {
  auto header = build_header(specs, metadata);
  return header.ok() ? 8 + header->text.size() + header->data_bytes : 0;
}

}  // namespace cacheon::engine
