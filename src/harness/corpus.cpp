#include "harness/corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/sha256.h"

namespace fs = std::filesystem;

// Emitted by harness/corpus_blob.S.
struct CacheonCorpusBlobEntry {
  const char* name;
  const char* begin;
  const char* end;
};
extern "C" const CacheonCorpusBlobEntry cacheon_corpus_table[];

namespace cacheon::harness {

bool valid_utf8(std::string_view s, size_t* bad_offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    if (n - i < len) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        if (bad_offset) *bad_offset = i;
        return false;
      }
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    if (overlong || surrogate || cp > 0x10FFFF) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    i += len;
  }
  return true;
}

namespace {

Error too_large(const std::string& what, size_t size, size_t limit) {
  return Error{"corpus_too_large", what + " is " + std::to_string(size) + " bytes, over the " +
                                       std::to_string(limit) + "-byte limit"};
}

// BOM removal and CRLF -> LF, so that the same text saved on another OS has the same id.
void normalize(std::string& text) {
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  if (text.find('\r') == std::string::npos) return;
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out.push_back(text[i]);
  }
  text.swap(out);
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
  });
}

// Reads a whole file whose size is first checked against `limit` (so a huge file is refused
// before any allocation).
Result<std::string> read_file(const fs::path& path, size_t limit, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return Error{"corpus_not_found", "no such file: " + path.string()};
  }
  uintmax_t size = fs::file_size(path, ec);
  if (ec) return Error{"corpus_io", "cannot stat " + path.string() + ": " + ec.message()};
  if (size > limit) return too_large(what, static_cast<size_t>(size), limit);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"corpus_io", "cannot open " + path.string()};
  std::string data(static_cast<size_t>(size), '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (in.gcount() != static_cast<std::streamsize>(data.size())) {
    return Error{"corpus_io", "short read from " + path.string()};
  }
  return data;
}

bool has_suffix(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(),
                                                suffix.data(), suffix.size()) == 0;
}

}  // namespace

Result<Corpus> Corpus::from_documents(std::vector<CorpusDocument> docs, std::string source,
                                      const CorpusLimits& limits) {
  Corpus c;
  c.source_ = std::move(source);
  std::string digests;
  for (CorpusDocument& d : docs) {
    normalize(d.text);
    if (d.text.size() > limits.max_document_bytes) {
      return too_large("document " + d.name, d.text.size(), limits.max_document_bytes);
    }
    size_t bad = 0;
    if (!valid_utf8(d.text, &bad)) {
      return Error{"corpus_invalid_utf8",
                   "document " + d.name + " is not valid UTF-8 at byte " + std::to_string(bad)};
    }
    if (blank(d.text)) continue;
    c.total_bytes_ += d.text.size();
    if (c.total_bytes_ > limits.max_total_bytes) {
      return too_large("the corpus", c.total_bytes_, limits.max_total_bytes);
    }
    if (c.docs_.size() >= limits.max_documents) {
      return Error{"corpus_too_large", "more than " + std::to_string(limits.max_documents) +
                                           " documents"};
    }
    digests += sha256_hex(d.text);
    digests += '\n';
    c.docs_.push_back(std::move(d));
  }
  if (c.docs_.empty()) {
    return Error{"corpus_empty", "corpus " + c.source_ + " has no non-blank document"};
  }
  c.id_ = sha256_hex(digests);
  return c;
}

Result<Corpus> Corpus::builtin() {
  std::vector<CorpusDocument> docs;
  for (const CacheonCorpusBlobEntry* e = cacheon_corpus_table; e->name != nullptr; ++e) {
    docs.push_back({e->name, std::string(e->begin, static_cast<size_t>(e->end - e->begin))});
  }
  return from_documents(std::move(docs), "builtin");
}

Result<Corpus> Corpus::from_directory(const std::string& dir, const CorpusLimits& limits) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error{"corpus_not_found", "no such directory: " + dir};
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (it->path().extension() == ".txt" && it->is_regular_file(fec)) files.push_back(it->path());
    if (files.size() > limits.max_documents) {
      return Error{"corpus_too_large", "more than " + std::to_string(limits.max_documents) +
                                           " documents in " + dir};
    }
  }
  if (ec) return Error{"corpus_io", "cannot list " + dir + ": " + ec.message()};
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  std::vector<CorpusDocument> docs;
  size_t total = 0;
  for (const fs::path& f : files) {
    std::string name = f.filename().string();
    Result<std::string> text = read_file(f, limits.max_document_bytes, "document " + name);
    if (!text) return text.error();
    total += text->size();
    if (total > limits.max_total_bytes) return too_large("the corpus", total, limits.max_total_bytes);
    docs.push_back({std::move(name), std::move(*text)});
  }
  return from_documents(std::move(docs), "dir:" + dir, limits);
}

Result<Corpus> Corpus::from_text_file(const std::string& path, const CorpusLimits& limits) {
  Result<std::string> text = read_file(path, limits.max_document_bytes, "document " + path);
  if (!text) return text.error();
  std::vector<CorpusDocument> docs;
  docs.push_back({fs::path(path).filename().string(), std::move(*text)});
  return from_documents(std::move(docs), "file:" + path, limits);
}

Result<Corpus> Corpus::from_jsonl(const std::string& path, const CorpusLimits& limits) {
  Result<std::string> data = read_file(path, limits.max_total_bytes, "JSONL file " + path);
  if (!data) return data.error();
  const std::string name = fs::path(path).filename().string();
  std::vector<CorpusDocument> docs;
  size_t pos = 0;
  for (size_t line_no = 1; pos < data->size(); ++line_no) {
    size_t nl = data->find('\n', pos);
    if (nl == std::string::npos) nl = data->size();
    std::string_view line(data->data() + pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    if (blank(line)) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    size_t bad = 0;
    if (!valid_utf8(line, &bad)) {
      return Error{"corpus_invalid_utf8", where + " is not valid UTF-8 at column " +
                                              std::to_string(bad + 1)};
    }
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Error{"corpus_bad_jsonl", where + " is not valid JSON"};
    if (!j.is_object()) return Error{"corpus_bad_jsonl", where + " is not a JSON object"};
    auto it = j.find("text");
    if (it == j.end() || !it->is_string()) {
      return Error{"corpus_bad_jsonl", where + " has no string field \"text\""};
    }
    if (docs.size() >= limits.max_documents) {
      return Error{"corpus_too_large", "more than " + std::to_string(limits.max_documents) +
                                           " documents in " + path};
    }
    docs.push_back({name + ":" + std::to_string(line_no), it->get<std::string>()});
  }
  return from_documents(std::move(docs), "jsonl:" + path, limits);
}

Result<Corpus> Corpus::load(const std::string& spec, const CorpusLimits& limits) {
  if (spec.empty() || spec == "builtin") return builtin();
  std::error_code ec;
  if (fs::is_directory(spec, ec)) return from_directory(spec, limits);
  if (!fs::exists(spec, ec)) return Error{"corpus_not_found", "no such corpus: " + spec};
  if (has_suffix(spec, ".jsonl")) return from_jsonl(spec, limits);
  if (has_suffix(spec, ".txt")) return from_text_file(spec, limits);
  return Error{"corpus_bad_source",
               "corpus " + spec + " is neither \"builtin\", a directory, a .txt nor a .jsonl file"};
}

}  // namespace cacheon::harness
