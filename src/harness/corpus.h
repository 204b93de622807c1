// The text corpus prompts are drawn from: the built-in one (data/corpus, compiled in), a
// directory of UTF-8 .txt files, or a JSONL file of {"text": "..."} objects. Every source is
// validated (UTF-8, sizes) and normalised the same way, and gets a content id.
//
// Not in scope: choosing passages (harness/prompts.h) or fetching corpora from anywhere.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cacheon::harness {

struct CorpusDocument {
  std::string name;  // file name; "<file>:<line>" for JSONL
  std::string text;  // valid UTF-8, "\n" line endings, no BOM, not blank
};

// Bounds on what a corpus may hold; exceeding one is "corpus_too_large".
struct CorpusLimits {
  size_t max_document_bytes = size_t(64) << 20;
  size_t max_total_bytes = size_t(512) << 20;  // also bounds a JSONL file's size
  size_t max_documents = 1'000'000;
};

// Error codes: "corpus_not_found" (no such path), "corpus_bad_source" (a path that is neither a
// directory, a .txt nor a .jsonl file), "corpus_io" (read failure), "corpus_invalid_utf8",
// "corpus_too_large", "corpus_empty" (no non-blank document), "corpus_bad_jsonl".
class Corpus {
 public:
  // data/corpus/*.txt as compiled into the binary (harness/corpus_blob.S).
  static Result<Corpus> builtin();
  // Every regular file ending in ".txt" directly inside `dir` (not recursive), one document per
  // file, ordered by file name (byte order).
  static Result<Corpus> from_directory(const std::string& dir, const CorpusLimits& limits = {});
  // One document per non-empty line, each a JSON object with a string "text"; other keys are
  // ignored. Line order is document order.
  static Result<Corpus> from_jsonl(const std::string& path, const CorpusLimits& limits = {});
  // A single .txt file as a one-document corpus.
  static Result<Corpus> from_text_file(const std::string& path, const CorpusLimits& limits = {});
  // In-memory documents (tests, other loaders). Blank documents are dropped.
  static Result<Corpus> from_documents(std::vector<CorpusDocument> docs, std::string source,
                                       const CorpusLimits& limits = {});
  // "" or "builtin" -> builtin(); a directory -> from_directory; "*.jsonl" -> from_jsonl;
  // "*.txt" -> from_text_file.
  static Result<Corpus> load(const std::string& spec, const CorpusLimits& limits = {});

  const std::vector<CorpusDocument>& documents() const { return docs_; }
  // SHA-256 hex of the documents' SHA-256 hex digests, each followed by "\n", in document order
  // (names do not count). Reproducible with sha256sum; see data/corpus/README.md.
  const std::string& id() const { return id_; }
  // "builtin", "dir:<path>", "jsonl:<path>", "file:<path>" or what from_documents was given.
  const std::string& source() const { return source_; }
  size_t total_bytes() const { return total_bytes_; }

 private:
  std::vector<CorpusDocument> docs_;
  std::string id_;
  std::string source_;
  size_t total_bytes_ = 0;
};

// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). On failure
// `bad_offset`, when given, receives the byte offset of the first invalid sequence.
bool valid_utf8(std::string_view s, size_t* bad_offset = nullptr);

}  // namespace cacheon::harness
