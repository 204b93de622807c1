// safetensors: float conversions, writer/reader round trips, hostile files, sharded indexes.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/model/float_convert.h"
#include "engine/model/rng.h"
#include "engine/model/safetensors.h"

namespace cacheon::engine {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "cacheon_st_XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// A file of: 8-byte length (`len`, default the header's size), header text, data bytes.
void write_raw(const std::string& path, const std::string& header, size_t data_bytes,
               std::optional<uint64_t> len = std::nullopt) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = len.value_or(header.size());
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << std::string(data_bytes, '\0');
}

Error open_error(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  EXPECT_FALSE(f.ok()) << path;
  return f.ok() ? Error{} : f.error();
}

bool contains(const std::string& s, const std::string& sub) {
  return s.find(sub) != std::string::npos;
}

// ---- conversions ----

TEST(ModelFloatConvert, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  // 1 + 2^-8 is exactly half way between bf16 1.0 and 1 + 2^-7: ties go to the even (1.0).
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
  // 1 + 3 * 2^-8 is half way between 1 + 2^-7 (odd) and 1 + 2^-6: up to the even.
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);  // just above half: up
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds up to inf
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
  // A NaN whose payload sits only in the dropped bits must stay NaN, not become inf.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::bit_cast<float>(0x7f800001u)))));
  for (uint32_t h = 0; h < 0x10000; ++h) {  // every bf16 survives the round trip
    const float f = bf16_to_f32(uint16_t(h));
    if (!std::isnan(f)) {
      ASSERT_EQ(f32_to_bf16(f), h) << h;
    }
  }
}

TEST(ModelFloatConvert, F16AllValuesAndEdges) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << h;
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << h;
    }
  }
  EXPECT_EQ(f16_to_f32(0x0001), 0x1p-24f);         // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03ff), 1023 * 0x1p-24f);  // largest subnormal
  EXPECT_EQ(f16_to_f32(0x0400), 0x1p-14f);         // smallest normal
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
  EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);            // tie between 0 and 2^-24: even (0)
  EXPECT_EQ(f32_to_f16(3 * 0x1p-25f), 0x0002);        // tie between 1 and 2 ulps: even (2)
  EXPECT_EQ(f32_to_f16(0x1p-25f * 1.0001f), 0x0001);  // just above half an ulp
  EXPECT_EQ(f32_to_f16(0x1p-26f), 0x0000);
  EXPECT_EQ(f32_to_f16(1023.5f * 0x1p-24f), 0x0400);  // rounds up into the normals
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // half way to 2^16 rounds to inf
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xfc00);
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f), 0x3c00);      // tie to even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);  // tie to even (up)
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
}

TEST(ModelRng, UniformIsSymmetricAndDeterministic) {
  Xoshiro256 a(42), b(42), c(43);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const float x = a.uniform_pm1();
    ASSERT_GT(x, -1.0f);
    ASSERT_LT(x, 1.0f);
    ASSERT_EQ(x, b.uniform_pm1());
    sum += x;
  }
  EXPECT_LT(std::abs(sum / 100000), 0.01);
  EXPECT_NE(Xoshiro256(42).next(), c.next());
  // Pinned first outputs: the stream is part of make-model's file format.
  Xoshiro256 d(0);
  EXPECT_EQ(d.next(), 0x99ec5f36cb75f2b4ull);
}

// ---- round trips ----

TEST(ModelSafetensors, RoundTripEachDtype) {
  TempDir dir;
  Xoshiro256 rng(7);
  std::map<std::string, TensorToWrite> tensors;
  for (DType dt : {DType::f32, DType::f16, DType::bf16}) {
    TensorToWrite t{dt, {3, 5}, {}};
    for (int i = 0; i < 15; ++i) t.data.push_back(rng.uniform_pm1() * 100.0f);
    tensors[std::string("t.") + dtype_name(dt)] = t;
  }
  tensors["scalar"] = {DType::f32, {}, {3.5f}};
  tensors["empty"] = {DType::bf16, {0, 4}, {}};
  tensors["special"] = {DType::f16, {4}, {65520.0f, 1e-8f, -0.0f, 0x1p-24f}};
  const std::string path = dir.file("a.safetensors");
  ASSERT_TRUE(write_safetensors(path, tensors, {{"format", "pt"}}).ok());
  auto f = SafetensorsFile::open(path);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->tensors().size(), tensors.size());
  for (const auto& [name, want] : tensors) {
    SCOPED_TRACE(name);
    auto t = f->read(name);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->shape, want.shape);
    EXPECT_EQ(f->find(name)->dtype, want.dtype);
    ASSERT_EQ(t->data.size(), want.data.size());
    for (size_t i = 0; i < want.data.size(); ++i) {
      const float expect = round_to_dtype(want.data[i], want.dtype);
      EXPECT_EQ(std::bit_cast<uint32_t>(t->data[i]), std::bit_cast<uint32_t>(expect)) << i;
    }
  }
  const auto special_tensor = f->read("special");
  const auto& special = special_tensor->data;
  EXPECT_TRUE(std::isinf(special[0]));
  EXPECT_EQ(special[1], 0.0f);  // below half the smallest subnormal
  EXPECT_TRUE(std::signbit(special[2]));
  EXPECT_EQ(special[3], 0x1p-24f);
  // The data section starts 8-byte aligned, like the reference writer's files.
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
  auto missing = f->read("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "weights_missing_tensor");
  EXPECT_TRUE(contains(missing.error().message, "'nope'"));
  EXPECT_EQ(fs::file_size(path),
            safetensors_file_size(std::vector<TensorSpec>{{"empty", DType::bf16, {0, 4}},
                                                          {"scalar", DType::f32, {}},
                                                          {"special", DType::f16, {4}},
                                                          {"t.BF16", DType::bf16, {3, 5}},
                                                          {"t.F16", DType::f16, {3, 5}},
                                                          {"t.F32", DType::f32, {3, 5}}},
                                  {{"format", "pt"}}));
}

TEST(ModelSafetensors, WriterRejectsBadInput) {
  TempDir dir;
  std::map<std::string, TensorToWrite> bad = {{"x", {DType::f32, {2, 2}, {1, 2, 3}}}};
  EXPECT_EQ(write_safetensors(dir.file("x"), bad).error().code, "invalid_argument");
  std::vector<TensorSpec> dup = {{"a", DType::f32, {1}}, {"a", DType::f32, {1}}};
  auto s = write_safetensors(dir.file("y"), dup, {}, [](size_t, int64_t, std::span<float>) {});
  EXPECT_EQ(s.error().code, "invalid_argument");
  std::map<std::string, TensorToWrite> ok = {{"x", {DType::f32, {1}, {1}}}};
  EXPECT_EQ(write_safetensors("/nonexistent-dir/x.safetensors", ok).error().code, "write_failed");
}

// ---- hostile files ----

TEST(ModelSafetensors, HostileHeaders) {
  TempDir dir;
  const std::string p = dir.file("h.safetensors");
  {
    std::ofstream(p, std::ios::binary) << "abc";
    const Error e = open_error(p);
    EXPECT_EQ(e.code, "weights_truncated");
    EXPECT_TRUE(contains(e.message, "shorter than the 8-byte header length"));
  }
  write_raw(p, "{}", 0, 1000);
  EXPECT_EQ(open_error(p).code, "weights_truncated");
  EXPECT_TRUE(contains(open_error(p).message, "header length 1000 runs past the end"));
  write_raw(p, "{}", 0, uint64_t(1) << 40);
  EXPECT_EQ(open_error(p).code, "weights_invalid");
  EXPECT_TRUE(contains(open_error(p).message, "exceeds the limit"));
  write_raw(p, "{}", 0, ~uint64_t(0));
  EXPECT_EQ(open_error(p).code, "weights_invalid");
  write_raw(p, "[1, 2, 3]", 0);
  EXPECT_TRUE(contains(open_error(p).message, "not a JSON object"));
  write_raw(p, "{\"a\": ", 0);
  EXPECT_TRUE(contains(open_error(p).message, "not valid JSON"));
  write_raw(p, std::string(100000, '[') + std::string(100000, ']'), 0);
  EXPECT_TRUE(contains(open_error(p).message, "nests too deeply"));
  write_raw(p, "{\"__metadata__\": {\"a\": 1}}", 0);
  EXPECT_TRUE(contains(open_error(p).message, "__metadata__ value of 'a' is not a string"));
  EXPECT_EQ(open_error(dir.file("absent")).code, "weights_not_found");
  EXPECT_EQ(open_error(dir.path.string()).code, "weights_invalid");  // a directory
}

TEST(ModelSafetensors, HostileTensorEntries) {
  TempDir dir;
  const std::string p = dir.file("t.safetensors");
  struct Case {
    std::string header;
    size_t data;
    std::string code, message;
  };
  const Case cases[] = {
      {R"({"w": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}})", 16, "weights_invalid",
       "tensor 'w' has dtype I64; the engine reads BF16, F16 and F32 only"},
      {R"({"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}})", 2, "weights_invalid",
       "dtype F8_E4M3"},
      {R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", 8, "weights_invalid", "no dtype"},
      {R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", 8, "weights_invalid", "no shape"},
      {R"({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", 8, "weights_invalid",
       "not a non-negative integer"},
      {R"({"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})", 8, "weights_invalid",
       "not a non-negative integer"},
      {R"({"w": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}})", 4,
       "weights_invalid", "rank 9"},
      {R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}})", 4,
       "weights_invalid", "too many elements"},
      {R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})", 24,
       "weights_invalid", "of shape [2, 3] and dtype F32 needs 24 bytes but data_offsets span 20"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", 8, "weights_invalid",
       "begin 8 after end 0"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", 8, "weights_invalid",
       "no data_offsets"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}})", 8, "weights_invalid",
       "no data_offsets"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}})", 8, "weights_truncated",
       "needs data bytes [16, 24) but the data section has only 8 bytes"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [18446744073709551608, 18446744073709551615]}})",
       8, "weights_invalid", "needs 8 bytes but data_offsets span 7"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
       12, "weights_invalid", "tensors 'a' and 'b' overlap"},
      {R"({"w": [1, 2]})", 0, "weights_invalid", "tensor 'w' is not an object"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    write_raw(p, c.header, c.data);
    const Error e = open_error(p);
    EXPECT_EQ(e.code, c.code);
    EXPECT_TRUE(contains(e.message, c.message)) << e.message;
  }
  // Zero-length tensors may share an offset; holes between tensors are allowed.
  write_raw(p, R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]},
                   "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                   "c": {"dtype": "BF16", "shape": [1], "data_offsets": [8, 10]}})",
            12);
  EXPECT_TRUE(SafetensorsFile::open(p).ok());
}

TEST(ModelSafetensors, TruncatedDataIsReported) {
  TempDir dir;
  const std::string p = dir.file("t.safetensors");
  std::map<std::string, TensorToWrite> t = {{"a", {DType::f32, {64}, std::vector<float>(64, 1)}},
                                            {"b", {DType::bf16, {64}, std::vector<float>(64, 2)}}};
  ASSERT_TRUE(write_safetensors(p, t).ok());
  fs::resize_file(p, fs::file_size(p) - 1);
  const Error e = open_error(p);
  EXPECT_EQ(e.code, "weights_truncated");
  EXPECT_TRUE(contains(e.message, "tensor 'b'")) << e.message;
}

// ---- sharded models ----

struct ShardedFixture {
  TempDir dir;
  ShardedFixture() {
    std::map<std::string, TensorToWrite> s1 = {{"x", {DType::f32, {2}, {1, 2}}}};
    std::map<std::string, TensorToWrite> s2 = {{"y", {DType::bf16, {1}, {3}}},
                                               {"z", {DType::f16, {1}, {4}}}};
    EXPECT_TRUE(write_safetensors(dir.file("model-00001-of-00002.safetensors"), s1).ok());
    EXPECT_TRUE(write_safetensors(dir.file("model-00002-of-00002.safetensors"), s2).ok());
  }
  void index(const std::string& weight_map) const {
    std::ofstream(dir.file("model.safetensors.index.json"))
        << "{\"metadata\": {\"total_size\": 12}, \"weight_map\": " << weight_map << "}";
  }
};

TEST(ModelSafetensors, ShardedIndexLoads) {
  ShardedFixture f;
  f.index(R"({"x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors",
             "z": "model-00002-of-00002.safetensors"})");
  auto m = SafetensorsModel::open(f.dir.path.string());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->names(), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(m->read("x")->data, (std::vector<float>{1, 2}));
  EXPECT_EQ(m->read("y")->data, (std::vector<float>{3}));
  EXPECT_EQ(m->read("z")->data, (std::vector<float>{4}));
  EXPECT_TRUE(contains(m->file_of("y"), "model-00002-of-00002.safetensors"));
  EXPECT_EQ(m->read("w").error().code, "weights_missing_tensor");
  // A single model.safetensors wins over an index, as in transformers.
  std::map<std::string, TensorToWrite> single = {{"only", {DType::f32, {1}, {9}}}};
  ASSERT_TRUE(write_safetensors(f.dir.file("model.safetensors"), single).ok());
  EXPECT_EQ(SafetensorsModel::open(f.dir.path.string())->names(), std::vector<std::string>{"only"});
}

TEST(ModelSafetensors, ShardedIndexRejectsBadShards) {
  ShardedFixture f;
  for (const char* bad :
       {"../model-00001-of-00002.safetensors", "/etc/passwd", "sub/../../x.safetensors",
        "a\\\\b.safetensors", "", "./x", "sub//x.safetensors"}) {
    SCOPED_TRACE(bad);
    f.index(std::string("{\"x\": \"") + bad + "\"}");
    auto m = SafetensorsModel::open(f.dir.path.string());
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code, "weights_invalid");
    EXPECT_TRUE(contains(m.error().message, "is not a relative path inside the model directory"))
        << m.error().message;
  }
  f.index(R"({"x": "model-00002-of-00002.safetensors"})");
  auto wrong = SafetensorsModel::open(f.dir.path.string());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "weights_missing_tensor");
  EXPECT_TRUE(contains(wrong.error().message, "tensor 'x' is mapped to"));
  f.index(R"({"x": "model-00009-of-00009.safetensors"})");
  EXPECT_EQ(SafetensorsModel::open(f.dir.path.string()).error().code, "weights_not_found");
  f.index(R"({"x": 3})");
  EXPECT_EQ(SafetensorsModel::open(f.dir.path.string()).error().code, "weights_invalid");
  std::ofstream(f.dir.file("model.safetensors.index.json")) << "{\"weight_map\": [1]}";
  EXPECT_EQ(SafetensorsModel::open(f.dir.path.string()).error().code, "weights_invalid");
  std::ofstream(f.dir.file("model.safetensors.index.json")) << "not json";
  EXPECT_EQ(SafetensorsModel::open(f.dir.path.string()).error().code, "weights_invalid");
  fs::remove(f.dir.file("model.safetensors.index.json"));
  auto none = SafetensorsModel::open(f.dir.path.string());
  EXPECT_EQ(none.error().code, "weights_not_found");
  EXPECT_TRUE(contains(none.error().message, "no model.safetensors or"));
}

}  // namespace
}  // namespace cacheon::engine
