// cacheon-tokenize: the tokenizer on the command line, for the parity test against the npm
// tokenizer and for throughput measurements.
//   cacheon-tokenize --tokenizer tokenizer.json < lines.jsonl > ids.jsonl
//     Each input line is a JSON string (text to encode), or an object {"hex": "..."} (raw bytes,
//     possibly ill-formed UTF-8) with an optional "parse_special": false. Each output line is the
//     JSON array of ids.
//   cacheon-tokenize --tokenizer tokenizer.json --chat < chats.jsonl
//     Each input line is {"messages": [{"role", "content"}...], "add_generation_prompt": bool};
//     each output line is {"text": the rendered Qwen2.5 template, "ids": [...]}.
//   cacheon-tokenize --tokenizer tokenizer.json --bench FILE [--repeat N]
//     Encodes FILE N times on one thread and prints MB/s and tokens/s.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

using cacheon::engine::Tokenizer;

std::string from_hex(const std::string& hex, bool& ok) {
  auto nibble = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  ok = hex.size() % 2 == 0;
  for (size_t i = 0; ok && i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    ok = hi >= 0 && lo >= 0;
    out += char(hi << 4 | lo);
  }
  return out;
}

int run_lines(const Tokenizer& tok) {
  std::string line, out;
  size_t lineno = 0;
  while (std::getline(std::cin, line)) {
    ++lineno;
    auto j = nlohmann::json::parse(line, nullptr, false);
    std::string text;
    bool parse_special = true;
    if (j.is_string()) {
      text = j.get<std::string>();
    } else if (j.is_object() && j.contains("hex") && j["hex"].is_string()) {
      bool ok = false;
      text = from_hex(j["hex"].get<std::string>(), ok);
      if (!ok) {
        std::fprintf(stderr, "line %zu: bad hex\n", lineno);
        return 1;
      }
      parse_special = j.value("parse_special", true);
    } else {
      std::fprintf(stderr, "line %zu: expected a JSON string or {\"hex\": ...}\n", lineno);
      return 1;
    }
    out.clear();
    out += '[';
    bool first = true;
    for (int32_t id : tok.encode(text, parse_special)) {
      if (!first) out += ',';
      first = false;
      out += std::to_string(id);
    }
    out += "]\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  std::fflush(stdout);
  return 0;
}

int run_chat(const Tokenizer& tok) {
  std::string line;
  size_t lineno = 0;
  while (std::getline(std::cin, line)) {
    ++lineno;
    auto j = nlohmann::json::parse(line, nullptr, false);
    std::vector<cacheon::openai::ChatMessage> messages;
    if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array()) {
      std::fprintf(stderr, "line %zu: expected {\"messages\": [...]}\n", lineno);
      return 1;
    }
    for (const auto& m : j["messages"]) {
      messages.push_back({m.value("role", std::string()), m.value("content", std::string())});
    }
    auto text = cacheon::engine::render_chat(messages, j.value("add_generation_prompt", true));
    nlohmann::json out;
    if (text) {
      out = {{"text", *text}, {"ids", tok.encode(*text)}};
    } else {
      out = {{"error", text.error().code}};
    }
    const std::string s = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(s.data(), 1, s.size(), stdout);
  }
  std::fflush(stdout);
  return 0;
}

int run_bench(const Tokenizer& tok, const std::string& path, int repeat) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot open %s\n", path.c_str());
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  size_t tokens = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < repeat; ++r) tokens += tok.encode(text).size();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double mb = double(text.size()) * repeat / 1e6;
  std::printf("bytes=%zu repeat=%d tokens=%zu seconds=%.3f MB/s=%.2f tokens/s=%.0f\n", text.size(),
              repeat, tokens, s, mb / s, double(tokens) / s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Qwen2 tokenizer: JSON lines of text in, JSON lines of token ids out"};
  std::string tokenizer_path, bench_path;
  int repeat = 1;
  bool chat = false;
  app.add_option("--tokenizer", tokenizer_path, "path to tokenizer.json")->required();
  app.add_option("--bench", bench_path, "encode this file and report throughput");
  app.add_option("--repeat", repeat, "times to encode the --bench file")
      ->check(CLI::Range(1, 100000));
  app.add_flag("--chat", chat, "render chat messages with the Qwen2.5 template");
  CLI11_PARSE(app, argc, argv);

  const auto t0 = std::chrono::steady_clock::now();
  auto tok = Tokenizer::from_file(tokenizer_path);
  if (!tok) {
    std::fprintf(stderr, "%s: %s\n", tok.error().code.c_str(), tok.error().message.c_str());
    return 1;
  }
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!bench_path.empty()) {
    std::printf("load_seconds=%.3f\n", load_s);
    return run_bench(*tok, bench_path, repeat);
  }
  return chat ? run_chat(*tok) : run_lines(*tok);
}
