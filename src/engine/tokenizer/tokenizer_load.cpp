// Reading tokenizer.json: every field we rely on is checked, and anything outside the Qwen2
// byte-level BPE pipeline is refused rather than tokenised differently from HF.
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/pretokenize.h"
#include "engine/tokenizer/tokenizer_impl.h"
#include "engine/tokenizer/utf8.h"

namespace cacheon::engine {
namespace {

using nlohmann::json;

// Ids above this are refused: the id table is sized by the largest id.
constexpr int64_t kMaxTokenId = (int64_t(1) << 24) - 1;

Error invalid(std::string msg) { return Error{"tokenizer_invalid", std::move(msg)}; }
Error unsupported(std::string msg) { return Error{"tokenizer_unsupported", std::move(msg)}; }

bool is_type(const json& j, std::string_view type) {
  return j.is_object() && j.contains("type") && j["type"].is_string() &&
         j["type"].get<std::string>() == type;
}

// A string field that must be absent, null or empty.
bool empty_or_null(const json& obj, const char* key) {
  if (!obj.contains(key) || obj[key].is_null()) return true;
  return obj[key].is_string() && obj[key].get<std::string>().empty();
}

Status check_pipeline(const json& root, bool& nfc) {
  const json& norm = root.contains("normalizer") ? root["normalizer"] : json();
  if (norm.is_null()) {
    nfc = false;
  } else if (is_type(norm, "NFC")) {
    nfc = true;
  } else {
    return unsupported("normalizer must be NFC or null");
  }
  const json& pre = root.contains("pre_tokenizer") ? root["pre_tokenizer"] : json();
  if (!is_type(pre, "Sequence") || !pre.contains("pretokenizers") ||
      !pre["pretokenizers"].is_array() || pre["pretokenizers"].size() != 2) {
    return unsupported("pre_tokenizer must be Sequence[Split, ByteLevel]");
  }
  const json& split = pre["pretokenizers"][0];
  const json& bl = pre["pretokenizers"][1];
  if (!is_type(split, "Split") || !split.contains("pattern") || !split["pattern"].is_object() ||
      !split["pattern"].contains("Regex") || !split["pattern"]["Regex"].is_string() ||
      split["pattern"]["Regex"].get<std::string>() != kQwen2SplitPattern) {
    return unsupported("pre_tokenizer Split must use the Qwen2 pattern");
  }
  if (split.value("behavior", std::string()) != "Isolated" || split.value("invert", false)) {
    return unsupported("pre_tokenizer Split must be Isolated and not inverted");
  }
  if (!is_type(bl, "ByteLevel") || bl.value("add_prefix_space", false) ||
      bl.value("use_regex", true)) {
    return unsupported("pre_tokenizer ByteLevel must have add_prefix_space and use_regex false");
  }
  if (!root.contains("decoder") || !is_type(root["decoder"], "ByteLevel")) {
    return unsupported("decoder must be ByteLevel");
  }
  return Status::Ok();
}

Status read_vocab(const json& model, Tokenizer::Impl& t) {
  if (!model.contains("vocab") || !model["vocab"].is_object() || model["vocab"].empty()) {
    return invalid("model.vocab must be a non-empty object");
  }
  for (const auto& [text, id_json] : model["vocab"].items()) {
    if (!id_json.is_number_integer())
      return invalid("vocab id of '" + text + "' is not an integer");
    const int64_t id = id_json.get<int64_t>();
    if (id < 0 || id > kMaxTokenId) return invalid("vocab id out of range: " + std::to_string(id));
    auto bytes = byte_level::to_bytes(text);
    if (!bytes) return unsupported("vocab entry is not in the byte-level alphabet: " + text);
    if (size_t(id) >= t.id_to_bytes.size()) t.id_to_bytes.resize(size_t(id) + 1);
    t.id_to_bytes[size_t(id)] = *bytes;
    t.bytes_to_id.emplace(std::move(*bytes), int32_t(id));
  }
  return Status::Ok();
}

Status read_merges(const json& model, Tokenizer::Impl& t) {
  if (!model.contains("merges") || !model["merges"].is_array()) {
    return invalid("model.merges must be an array");
  }
  int32_t rank = 0;
  for (const json& m : model["merges"]) {
    std::string a, b;
    if (m.is_string()) {  // the older "left right" form
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
        return invalid("merge is not 'left right': " + s);
      }
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      return invalid("merge " + std::to_string(rank) + " is neither a string nor a pair");
    }
    auto ab = byte_level::to_bytes(a), bb = byte_level::to_bytes(b);
    if (!ab || !bb) return invalid("merge outside the byte-level alphabet: " + a + " " + b);
    auto left = t.bytes_to_id.find(*ab), right = t.bytes_to_id.find(*bb);
    auto merged = t.bytes_to_id.find(*ab + *bb);
    if (left == t.bytes_to_id.end() || right == t.bytes_to_id.end() ||
        merged == t.bytes_to_id.end()) {
      return invalid("merge refers to a token not in the vocabulary: " + a + " " + b);
    }
    t.bpe->add_merge(left->second, right->second, merged->second, rank);
    ++rank;
  }
  return Status::Ok();
}

Status read_added(const json& root, Tokenizer::Impl& t) {
  if (!root.contains("added_tokens")) return Status::Ok();
  if (!root["added_tokens"].is_array()) return invalid("added_tokens must be an array");
  for (const json& a : root["added_tokens"]) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
        !a.contains("content") || !a["content"].is_string()) {
      return invalid("added token without an integer id and a string content");
    }
    const int64_t id = a["id"].get<int64_t>();
    std::string content = a["content"].get<std::string>();
    if (id < 0 || id > kMaxTokenId) return invalid("added token id out of range");
    if (content.empty() || !utf8::is_valid(content)) {
      return invalid("added token content must be non-empty UTF-8");
    }
    if (a.value("single_word", false) || a.value("normalized", false)) {
      return unsupported("added token '" + content + "' uses single_word or normalized");
    }
    const bool special = a.value("special", false);
    t.added.push_back(
        {int32_t(id), content, special, a.value("lstrip", false), a.value("rstrip", false)});
    if (size_t(id) >= t.id_to_bytes.size()) t.id_to_bytes.resize(size_t(id) + 1);
    t.id_to_bytes[size_t(id)] = content;
    t.added_first_byte[static_cast<unsigned char>(content[0])] = true;
  }
  // Longest first, so the first hit at a position is the longest (HF matches leftmost-longest).
  std::stable_sort(t.added.begin(), t.added.end(), [](const AddedToken& x, const AddedToken& y) {
    return x.content.size() > y.content.size();
  });
  t.added_kind.assign(t.id_to_bytes.size(), 0);
  for (const AddedToken& a : t.added) t.added_kind[size_t(a.id)] = a.special ? 2 : 1;
  return Status::Ok();
}

}  // namespace

Result<Tokenizer> Tokenizer::from_json(std::string_view text) {
  json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object())
    return invalid("tokenizer.json is not a JSON object");
  auto impl = std::make_shared<Impl>();
  if (Status s = check_pipeline(root, impl->nfc); !s) return s.error();
  if (!root.contains("model") || !root["model"].is_object()) return invalid("model missing");
  const json& model = root["model"];
  if (model.contains("type") && !is_type(model, "BPE")) return unsupported("model must be BPE");
  if (model.value("byte_fallback", false) || !empty_or_null(model, "continuing_subword_prefix") ||
      !empty_or_null(model, "end_of_word_suffix") ||
      (model.contains("dropout") && !model["dropout"].is_null())) {
    return unsupported(
        "BPE options byte_fallback, dropout, subword prefix/suffix are not supported");
  }
  if (Status s = read_vocab(model, *impl); !s) return s.error();
  std::array<int32_t, 256> byte_ids{};
  for (int b = 0; b < 256; ++b) {
    auto it = impl->bytes_to_id.find(std::string(1, char(b)));
    if (it == impl->bytes_to_id.end()) return invalid("vocabulary lacks a single-byte token");
    byte_ids[size_t(b)] = it->second;
  }
  impl->bpe =
      std::make_unique<Bpe>(byte_ids, &impl->bytes_to_id, model.value("ignore_merges", false));
  if (Status s = read_merges(model, *impl); !s) return s.error();
  if (Status s = read_added(root, *impl); !s) return s.error();
  if (impl->added_kind.size() < impl->id_to_bytes.size()) {
    impl->added_kind.resize(impl->id_to_bytes.size(), 0);
  }
  auto special_id = [&](std::string_view content) {
    for (const AddedToken& a : impl->added) {
      if (a.content == content) return a.id;
    }
    return -1;
  };
  impl->im_start = special_id("<|im_start|>");
  impl->im_end = special_id("<|im_end|>");
  impl->endoftext = special_id("<|endoftext|>");
  if (impl->im_start < 0 || impl->im_end < 0 || impl->endoftext < 0) {
    return unsupported("added tokens lack <|im_start|>, <|im_end|> or <|endoftext|>");
  }
  impl->stops = {impl->im_end, impl->endoftext};
  return Tokenizer(std::move(impl));
}

Result<Tokenizer> Tokenizer::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"tokenizer_unreadable", "cannot open " + path};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return Error{"tokenizer_unreadable", "cannot read " + path};
  auto t = from_json(ss.str());
  if (!t) return Error{t.error().code, path + ": " + t.error().message};
  return t;
}

}  // namespace cacheon::engine
