// Parse throughput of the harness's hot path: SSE framing (core/sse.h) + chunk JSON parsing
// (openai/chat_chunk.h) + building the RequestRecord, through the runner's own StreamRecorder
// (harness/stream_recorder.h), on a pre-generated, realistic stream:
// role event, N content events (1 or k tokens each, top_logprobs and `bytes` arrays as the
// calibrated source writes them), finish, usage, [DONE].
//
// Not measured here: sockets, HTTP chunked decoding and the event loop (harness_accuracy reports
// the runner's whole CPU cost per 1000 tokens, those included).
//
// Every repetition first parses one stream untimed and checks it (token count, a checksum of the
// token strings, bytes == token, finish, usage, [DONE]); the timed loop checks the token count
// and the error code of every stream and the full checksum of its last one. A wrong parse fails
// the run (exit 1) before any number is printed.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "provenance.h"
#include "core/clock.h"
#include "core/sse.h"
#include "harness/record.h"
#include "harness/runner.h"
#include "harness/stats.h"
#include "harness/stream_recorder.h"
#include "openai/chat_chunk.h"
#include "openai/chunk_writer.h"
#include "testserver/script.h"

using namespace cacheon;
using cacheon::harness::RequestRecord;

namespace {

int64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return (h ^ 0xff) * 0x100000001b3ull;  // separator, so "ab"+"c" != "a"+"bc"
}
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

// One pre-generated response body (the decoded HTTP body: SSE bytes only).
struct Stream {
  std::string bytes;
  std::vector<size_t> event_ends;  // offset just past each event's blank line
  int tokens = 0;
  int events = 0;
  uint64_t checksum = kFnvBasis;  // fnv1a over the emitted token strings, in order
};

Stream make_stream(int n_tokens, int per_chunk, int top_n) {
  testserver::Script script;  // seed 1: the calibrated source's default token stream
  std::vector<openai::ChatMessage> msgs{{"user", "parse throughput benchmark prompt"}};
  const uint64_t ph = testserver::prompt_hash(msgs);
  openai::ChunkWriter w("chatcmpl-0123456789abcdef000000", script.model, 1'700'000'000);
  Stream s;
  auto mark = [&s] {
    s.event_ends.push_back(s.bytes.size());
    ++s.events;
  };
  w.append_role(s.bytes);
  mark();
  std::vector<testserver::GenToken> gen;
  std::vector<openai::TokenOut> outs;
  std::string text;
  for (int pos = 0; pos < n_tokens; pos += per_chunk) {
    const int count = std::min(per_chunk, n_tokens - pos);
    gen.clear();
    outs.clear();
    text.clear();
    for (int i = 0; i < count; ++i)
      gen.push_back(testserver::make_token(script, ph, pos + i, top_n, false));
    for (const auto& g : gen) {
      outs.push_back(g.out());
      text += g.text;
      s.checksum = fnv1a(s.checksum, g.text);
    }
    w.append_content(s.bytes, text, outs, /*with_logprobs=*/true);
    mark();
  }
  s.tokens = n_tokens;
  w.append_finish(s.bytes, "length");
  mark();
  w.append_usage(s.bytes, {42, n_tokens});
  mark();
  openai::ChunkWriter::append_done(s.bytes);
  mark();
  return s;
}

enum class Reads { fixed, per_event };

// Feeds one stream the way socket reads would deliver it; each read is stamped like the client
// stamps a completed socket read.
void parse_stream(const Stream& s, Reads reads, size_t read_bytes, const harness::RunOptions& opts,
                  openai::ChunkParser& parser, RequestRecord& rec) {
  rec = RequestRecord{};
  rec.max_tokens_requested = s.tokens;  // as the runner sets it from the request spec
  harness::StreamRecorder r(rec, opts, parser);
  r.on_headers(200);
  std::string_view all = s.bytes;
  if (reads == Reads::fixed) {
    for (size_t off = 0; off < all.size(); off += read_bytes)
      if (!r.on_body(all.substr(off, read_bytes), mono_ns())) break;
  } else {
    size_t prev = 0;
    for (size_t end : s.event_ends) {
      if (!r.on_body(all.substr(prev, end - prev), mono_ns())) break;
      prev = end;
    }
  }
  r.on_done(Status{}, mono_ns());
}

// Empty when the record is exactly what the stream carried; else why not.
std::string check(const RequestRecord& rec, const Stream& s, int top_n) {
  if (!rec.ok()) return "parse error " + rec.error_code + ": " + rec.error_message;
  if (int(rec.tokens.size()) != s.tokens)
    return fmt::format("{} tokens parsed, {} sent", rec.tokens.size(), s.tokens);
  uint64_t h = kFnvBasis;
  for (const auto& t : rec.tokens) {
    h = fnv1a(h, t.token);
    if (!t.bytes || *t.bytes != t.token) return "a token's bytes differ from its string";
    if (int(t.top.size()) != top_n)
      return fmt::format("{} top_logprobs, {} sent", t.top.size(), top_n);
  }
  if (h != s.checksum) return "token string checksum mismatch";
  if (!rec.saw_role || !rec.saw_done || rec.finish_reason != "length")
    return "role, finish or [DONE] missing";
  if (rec.usage_completion_tokens != s.tokens) return "usage.completion_tokens wrong";
  return {};
}

struct Rep {
  double cpu_s = 0, wall_s = 0;
  int64_t tokens = 0, events = 0, bytes = 0, streams = 0;
};

struct Config {
  int per_chunk = 1;
  Reads reads = Reads::fixed;
  std::string name;
};

[[noreturn]] void failed(const std::string& what) {
  fmt::print("FAILED: {}\n", what);
  std::fflush(stdout);
  std::exit(1);
}

Rep run_rep(const Stream& s, const Config& c, size_t read_bytes, int top_n, double seconds,
            const harness::RunOptions& opts, openai::ChunkParser& parser) {
  RequestRecord rec;
  parse_stream(s, c.reads, read_bytes, opts, parser, rec);  // untimed, checked in full
  if (auto why = check(rec, s, top_n); !why.empty()) failed(c.name + ": " + why);

  Rep r;
  const int64_t cpu0 = thread_cpu_ns(), wall0 = mono_ns();
  const int64_t wall_end = wall0 + int64_t(seconds * 1e9);
  do {
    parse_stream(s, c.reads, read_bytes, opts, parser, rec);
    if (!rec.ok() || int(rec.tokens.size()) != s.tokens)
      failed(c.name + ": timed parse went wrong: " + rec.error_code);
    ++r.streams;
  } while (mono_ns() < wall_end);
  const int64_t cpu1 = thread_cpu_ns(), wall1 = mono_ns();
  if (auto why = check(rec, s, top_n); !why.empty()) failed(c.name + " (last timed): " + why);
  r.cpu_s = double(cpu1 - cpu0) / 1e9;
  r.wall_s = double(wall1 - wall0) / 1e9;
  r.tokens = r.streams * s.tokens;
  r.events = r.streams * s.events;
  r.bytes = r.streams * int64_t(s.bytes.size());
  return r;
}

using cacheon::bench::cpu_model;
using cacheon::bench::git_describe;
using cacheon::bench::loadavg;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Parse throughput of the harness hot path (SSE reader + chunk parser + token records) on a "
      "pre-generated calibrated-source stream. Reports tokens/s per core (thread CPU time), "
      "median over repetitions."};
  int tokens = 256, top_n = 5, reps = 5;
  double seconds = 1.0;
  size_t read_bytes = 16 * 1024;
  std::vector<int> per_chunk{1, 4};
  std::string json_path;
  app.add_option("--tokens", tokens, "tokens per stream")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--top-logprobs", top_n, "top_logprobs per token")
      ->check(CLI::Range(0, 20))
      ->capture_default_str();
  app.add_option("--chunk-tokens", per_chunk, "tokens per content event, one config each")
      ->delimiter(',')
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--read-bytes", read_bytes, "bytes per read in the fixed-size read mode")
      ->check(CLI::Range(size_t(1), size_t(1) << 24))
      ->capture_default_str();
  app.add_option("--seconds", seconds, "minimum wall time per repetition")
      ->check(CLI::Range(0.01, 600.0))
      ->capture_default_str();
  app.add_option("--reps", reps, "repetitions (the median is reported)")
      ->check(CLI::Range(1, 101))
      ->capture_default_str();
  app.add_option("--json", json_path, "also write all numbers and provenance to this file");
  CLI11_PARSE(app, argc, argv);

  const std::string load_start = loadavg();
  std::vector<Config> configs;
  for (int k : per_chunk) {
    configs.push_back({k, Reads::fixed, fmt::format("{} tok/event, {} B reads", k, read_bytes)});
    configs.push_back({k, Reads::per_event, fmt::format("{} tok/event, 1 event/read", k)});
  }

  openai::ChunkParser parser;
  harness::RunOptions opts;  // the runner's defaults: logprobs on, default SSE bounds
  opts.top_logprobs = top_n;
  nlohmann::json jconfigs = nlohmann::json::array();
  fmt::print("parse_throughput: {} tokens/stream, top_logprobs {}, {} reps x >= {} s\n", tokens,
             top_n, reps, seconds);
  fmt::print("{:<28} {:>8} {:>9} {:>22} {:>12} {:>10} {:>8}\n", "config", "B/token", "ev/strm",
             "Mtok/s per core [min-max]", "Mtok/s wall", "MB/s core", "ns/tok");
  for (const auto& c : configs) {
    Stream s = make_stream(tokens, c.per_chunk, top_n);
    std::vector<double> per_core, wall, mbps, ev_per_core;
    nlohmann::json jreps = nlohmann::json::array();
    for (int i = 0; i < reps; ++i) {
      Rep r = run_rep(s, c, read_bytes, top_n, seconds, opts, parser);
      per_core.push_back(double(r.tokens) / r.cpu_s);
      wall.push_back(double(r.tokens) / r.wall_s);
      mbps.push_back(double(r.bytes) / r.cpu_s / 1e6);
      ev_per_core.push_back(double(r.events) / r.cpu_s);
      jreps.push_back({{"cpu_s", r.cpu_s},
                       {"wall_s", r.wall_s},
                       {"streams", r.streams},
                       {"tokens", r.tokens},
                       {"events", r.events},
                       {"bytes", r.bytes}});
    }
    const double med = harness::median(per_core);
    fmt::print("{:<28} {:>8.0f} {:>9} {:>8.3f} [{:.3f}-{:.3f}] {:>12.3f} {:>10.0f} {:>8.0f}\n",
               c.name, double(s.bytes.size()) / s.tokens, s.events, med / 1e6,
               harness::min_of(per_core) / 1e6, harness::max_of(per_core) / 1e6,
               harness::median(wall) / 1e6, harness::median(mbps), 1e9 / med);
    jconfigs.push_back({{"name", c.name},
                        {"tokens_per_event", c.per_chunk},
                        {"reads", c.reads == Reads::fixed ? "fixed" : "per_event"},
                        {"read_bytes", c.reads == Reads::fixed ? int64_t(read_bytes) : -1},
                        {"stream_bytes", s.bytes.size()},
                        {"stream_events", s.events},
                        {"stream_tokens", s.tokens},
                        {"tokens_per_core_s", harness::to_json(harness::summarize(per_core))},
                        {"tokens_per_wall_s", harness::to_json(harness::summarize(wall))},
                        {"events_per_core_s", harness::to_json(harness::summarize(ev_per_core))},
                        {"mb_per_core_s", harness::to_json(harness::summarize(mbps))},
                        {"reps", jreps}});
  }
  const std::string load_end = loadavg();
  fmt::print("checked: every stream's token count; full token checksum per repetition\n");
  fmt::print("git {}  cpu '{}'  nproc {}  load {} -> {}\n", git_describe(), cpu_model(),
             sysconf(_SC_NPROCESSORS_ONLN), load_start, load_end);

  if (!json_path.empty()) {
    nlohmann::json j = {{"benchmark", "parse_throughput"},
                        {"settings",
                         {{"tokens", tokens},
                          {"top_logprobs", top_n},
                          {"reps", reps},
                          {"seconds", seconds},
                          {"read_bytes", read_bytes}}},
                        {"provenance",
                         {{"git", git_describe()},
                          {"cpu", cpu_model()},
                          {"nproc", sysconf(_SC_NPROCESSORS_ONLN)},
                          {"loadavg_start", load_start},
                          {"loadavg_end", load_end},
                          {"wall_ms", wall_ms()},
#ifdef __OPTIMIZE__
                          {"optimized", true},
#else
                          {"optimized", false},
#endif
                          {"compiler", __VERSION__}}},
                        {"configs", jconfigs}};
    std::ofstream f(json_path);
    f << j.dump(2) << "\n";
    if (!f) {
      fmt::print(stderr, "error: cannot write {}\n", json_path);
      return 2;
    }
  }
  return 0;
}
