// CPU speed of cacheon-engine, in process, through the Scheduler (continuous batching: the serving
// path without HTTP): steady decode tokens/s at each batch size, and time to first token (TTFT)
// of a long prompt. tools/hf_cpu_speed.py is the peer (HF transformers on the same model, same
// prompt ids, same definitions, same JSON keys).
//
// Prompt ids, shared with the peer so no tokenizer is involved: token i = (1000 + 37 * i) % 100000.
//
// Decode at batch B: a fresh Scheduler, B identical greedy requests (ignore_eos, max_tokens G)
// submitted before start(), so all B are prefilled in one step and decode in lock step. Token
// events are stamped on the engine thread (timestamp first). Steady rate = B * (G - 1) / (last
// token - last first token): prefill and the first token are excluded.
// TTFT: a started Scheduler, one request at a time, submit() to the first token event (prefill in
// prefill_chunk pieces, as the server does it, plus the first sample).
//
// Checked before a time counts (a wrong answer exits 1): every request ends with "length" after
// exactly G tokens; the decode took exactly G engine steps; the B sequences of a batch are equal
// to each other and to the batch-1 sequence; every repeat gives the same tokens.
#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "provenance.h"
#include "core/clock.h"
#include "engine/kernels/cpu/cpu_model.h"
#include "engine/model/synthetic.h"
#include "engine/model/weights.h"
#include "engine/scheduler/scheduler.h"
#include "harness/stats.h"

using namespace cacheon;
using namespace cacheon::engine;
using json = nlohmann::json;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

std::vector<int32_t> bench_prompt(int64_t n) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ids[size_t(i)] = int32_t((1000 + 37 * i) % 100000);
  return ids;
}

// What one request saw. Written on the engine thread only, read after `finished`.
struct Trace {
  int64_t submit_ns = 0;
  std::vector<int64_t> token_ns;
  std::vector<int32_t> ids;
  std::string finish;
  std::string error;
};

class Countdown {
 public:
  explicit Countdown(int n) : left_(n) {}
  void done() {
    std::lock_guard lk(mu_);
    if (--left_ == 0) cv_.notify_all();
  }
  void wait() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int left_;
};

GenerationRequest make_request(const std::vector<int32_t>& prompt, int64_t max_tokens, Trace& tr,
                               Countdown& cd) {
  tr.token_ns.reserve(size_t(max_tokens));
  tr.ids.reserve(size_t(max_tokens));
  GenerationRequest r;
  r.prompt = prompt;
  r.sampling.temperature = 0;
  r.max_tokens = max_tokens;
  r.ignore_eos = true;
  r.on_event = [&tr, &cd](const GenerationEvent& ev) {
    const int64_t now = mono_ns();  // first: the stamp is the measurement
    switch (ev.kind) {
      case GenerationEvent::Kind::token:
        tr.token_ns.push_back(now);
        tr.ids.push_back(ev.token.id);
        break;
      case GenerationEvent::Kind::finished:
        tr.finish = ev.finish_reason;
        cd.done();
        break;
      case GenerationEvent::Kind::error:
        tr.error = ev.error.code + ": " + ev.error.message;
        cd.done();
        break;
    }
  };
  return r;
}

[[noreturn]] void failed(const std::string& what) {
  fmt::print("FAILED: {}\n", what);
  std::fflush(stdout);
  std::exit(kExitFailed);
}

void check_trace(const Trace& t, int64_t want_tokens, const std::string& what) {
  if (!t.error.empty()) failed(what + ": request failed: " + t.error);
  if (t.finish != "length") failed(what + ": finish_reason '" + t.finish + "', expected length");
  if (int64_t(t.ids.size()) != want_tokens)
    failed(fmt::format("{}: {} tokens, expected {}", what, t.ids.size(), want_tokens));
}

struct DecodeRun {
  double tokens_per_s = 0, step_ms = 0, forward_fraction = 0;
  std::vector<int32_t> ids;  // the first sequence's tokens
};

// One decode measurement: B identical requests on a fresh scheduler, admitted in one step.
DecodeRun run_decode(CpuModel& model, SchedulerOptions so, const std::vector<int32_t>& prompt,
                     int batch, int64_t gen, const std::string& what) {
  so.max_num_seqs = std::max<int64_t>(so.max_num_seqs, batch);
  Scheduler sched(model, so);
  std::vector<Trace> traces(static_cast<size_t>(batch));
  Countdown cd(batch);
  for (auto& tr : traces) {
    tr.submit_ns = mono_ns();
    auto id = sched.submit(make_request(prompt, gen, tr, cd));
    if (!id) failed(what + ": submit: " + id.error().message);
  }
  const int64_t t_start = mono_ns();
  sched.start();
  cd.wait();
  const int64_t t_end = mono_ns();
  sched.stop();  // joins the engine thread: the last step's stats are counted after its events
  const SchedulerStats st = sched.stats();

  int64_t first = 0, last = 0;
  for (const auto& tr : traces) {
    check_trace(tr, gen, what);
    if (tr.ids != traces[0].ids) failed(what + ": the sequences of one batch differ");
    first = std::max(first, tr.token_ns.front());
    last = std::max(last, tr.token_ns.back());
  }
  if (st.steps != gen)
    failed(fmt::format("{}: {} engine steps, expected {} (one prefill + {} decode steps)", what,
                       st.steps, gen, gen - 1));
  DecodeRun r;
  const double window_s = double(last - first) / 1e9;
  r.tokens_per_s = double(batch) * double(gen - 1) / window_s;
  r.step_ms = window_s * 1e3 / double(gen - 1);
  r.forward_fraction = double(st.forward_ns) / double(t_end - t_start);
  r.ids = traces[0].ids;
  return r;
}

struct Stat {
  std::vector<double> runs;
  double median() const { return harness::median(runs); }
  double min() const { return harness::min_of(runs); }
  double max() const { return harness::max_of(runs); }
  json to_json() const {
    return {{"median", median()}, {"min", min()}, {"max", max()}, {"runs", runs}};
  }
};

struct Options {
  std::string model_dir, load_format = "auto", shape;
  uint64_t seed = 0;
  int threads = 0;
  std::vector<int> batches{1, 8};
  int64_t prompt_tokens = 32, gen_tokens = 64, ttft_tokens = 1024, prefill_chunk = 512;
  int repeats = 5;
  std::string json_path;
};

// Weights from --model, or dummy weights for --shape (the engine's --load-format dummy path, fed
// a config.json written to a scratch directory).
Result<ModelWeights> load(const Options& o) {
  if (!o.model_dir.empty())
    return load_weights(o.model_dir, o.load_format == "dummy" ? LoadFormat::dummy
                                                              : LoadFormat::safetensors,
                        o.seed);
  auto cfg = synthetic_config(o.shape);
  if (!cfg) return cfg.error();
  std::error_code ec;
  const auto dir = std::filesystem::temp_directory_path(ec) /
                   fmt::format("engine_speed_{}_{}", getpid(), mono_ns());
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{"io", "cannot create " + dir.string() + ": " + ec.message()};
  { std::ofstream(dir / "config.json") << cfg->to_json(); }
  auto w = load_weights(dir.string(), LoadFormat::dummy, o.seed);
  std::filesystem::remove_all(dir, ec);
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "engine_speed: cacheon-engine CPU speed in process through the Scheduler: steady decode "
      "tokens/s at each batch size (identical greedy requests, ignore_eos, prefill excluded) and "
      "TTFT of a long prompt (submit to first token event, batch 1). Prompt token i is "
      "(1000 + 37*i) % 100000, as in tools/hf_cpu_speed.py (the HF transformers peer)."};
  Options o;
  app.option_defaults()->always_capture_default();
  auto* model_opt =
      app.add_option("--model", o.model_dir, "HF model directory (config.json + safetensors)");
  app.add_option("--load-format", o.load_format,
                 "with --model: auto (safetensors) or dummy (seeded random weights for its "
                 "config.json)")
      ->check(CLI::IsMember({"auto", "safetensors", "dummy"}));
  auto* shape_opt = app.add_option("--shape", o.shape,
                                   "instead of --model: dummy weights of a synthetic shape (tiny, "
                                   "qwen2.5-0.5b, ...; the values make-model writes for --seed)");
  model_opt->excludes(shape_opt);
  app.add_option("--seed", o.seed, "dummy weight seed (--shape, --load-format dummy)");
  app.add_option("--threads", o.threads, "OpenBLAS threads (0: OpenBLAS default)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--batches", o.batches, "decode batch sizes, comma separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 256));
  app.add_option("--prompt-tokens", o.prompt_tokens, "decode prompt length")
      ->check(CLI::Range(int64_t(1), int64_t(8192)));
  app.add_option("--gen-tokens", o.gen_tokens, "tokens generated per decode request")
      ->check(CLI::Range(int64_t(2), int64_t(8192)));
  app.add_option("--ttft-tokens", o.ttft_tokens, "TTFT prompt length (0: skip TTFT)")
      ->check(CLI::Range(int64_t(0), int64_t(131072)));
  app.add_option("--prefill-chunk", o.prefill_chunk,
                 "prompt tokens per step (cacheon-engine serve's default)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  app.add_option("--repeats", o.repeats, "repeats of each measurement (median, min, max)")
      ->check(CLI::Range(1, 100));
  app.add_option("--json", o.json_path, "also write every number and the provenance here");
  app.footer(
      "\nExit status: 0 ok; 1 a check failed (FAILED on stdout); 2 bad arguments or a model "
      "that cannot be loaded. Progress goes to stderr.\n");
  try {
    app.parse(argc, argv);
    if (o.model_dir.empty() && o.shape.empty())
      throw CLI::ValidationError("--model or --shape", "one of them is required");
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "engine_speed: {} (see --help)\n", e.what());
    return kExitUsage;
  }

  const std::string load_start = bench::loadavg();
  const std::string model_name =
      o.model_dir.empty() ? fmt::format("{} (dummy, seed {})", o.shape, o.seed)
                          : (o.load_format == "dummy"
                                 ? fmt::format("{} (dummy, seed {})", o.model_dir, o.seed)
                                 : o.model_dir);
  fmt::print(stderr, "engine_speed: loading {}\n", model_name);
  const int64_t t_load = mono_ns();
  auto weights = load(o);
  if (!weights) {
    fmt::print(stderr, "engine_speed: cannot load {}: {} ({})\n", model_name,
               weights.error().message, weights.error().code);
    return kExitUsage;
  }
  const ModelConfig& cfg = weights->config;
  if (o.ttft_tokens + 1 > cfg.max_position_embeddings ||
      o.prompt_tokens + o.gen_tokens > cfg.max_position_embeddings) {
    fmt::print(stderr, "engine_speed: prompt + output exceed the model's {} positions\n",
               cfg.max_position_embeddings);
    return kExitUsage;
  }
  if (cfg.vocab_size <= 100000) {
    fmt::print(stderr, "engine_speed: the prompt ids need a vocabulary above 100000 (has {})\n",
               cfg.vocab_size);
    return kExitUsage;
  }
  CpuModel model(*weights, o.threads);
  const int blas_threads = openblas_get_num_threads();
  fmt::print(stderr, "engine_speed: loaded in {:.1f} s; OpenBLAS threads {} ({})\n",
             double(mono_ns() - t_load) / 1e9, blas_threads, openblas_get_config());

  SchedulerOptions so;
  so.max_model_len = cfg.max_position_embeddings;
  so.prefill_chunk = o.prefill_chunk;
  const auto prompt = bench_prompt(o.prompt_tokens);

  // Warm-up, untimed: OpenBLAS's pool, first-touch of buffers, the largest batch's shapes.
  const int max_batch = *std::max_element(o.batches.begin(), o.batches.end());
  run_decode(model, so, prompt, max_batch, 4, "warm-up");

  std::vector<int32_t> reference;  // batch-1 (or first batch) greedy tokens
  json jdecode = json::array();
  struct Row {
    std::string name, unit;
    Stat s;
  };
  std::vector<Row> rows;
  for (int b : o.batches) {
    Stat rate, per_seq, step, fwd;
    for (int r = 0; r < o.repeats; ++r) {
      const std::string what = fmt::format("decode batch {} repeat {}", b, r + 1);
      DecodeRun d = run_decode(model, so, prompt, b, o.gen_tokens, what);
      if (reference.empty()) reference = d.ids;
      if (d.ids != reference)
        failed(what + ": greedy tokens differ from the first decode run (batch " +
               std::to_string(o.batches.front()) + ")");
      rate.runs.push_back(d.tokens_per_s);
      per_seq.runs.push_back(d.tokens_per_s / b);
      step.runs.push_back(d.step_ms);
      fwd.runs.push_back(d.forward_fraction);
      fmt::print(stderr, "  {}: {:.2f} tok/s, {:.2f} ms/step, forward {:.0f}% of wall\n", what,
                 d.tokens_per_s, d.step_ms, 100 * d.forward_fraction);
    }
    rows.push_back({fmt::format("decode batch {}", b), "tok/s", rate});
    rows.push_back({fmt::format("  per sequence"), "tok/s", per_seq});
    rows.push_back({fmt::format("  step (ITL)"), "ms", step});
    jdecode.push_back({{"batch", b},
                       {"tokens_per_s", rate.to_json()},
                       {"per_sequence_tokens_per_s", per_seq.to_json()},
                       {"step_ms", step.to_json()},
                       {"extra", {{"forward_fraction_of_wall", fwd.to_json()}}}});
  }

  json jttft = nullptr;
  if (o.ttft_tokens > 0) {
    const auto long_prompt = bench_prompt(o.ttft_tokens);
    Scheduler sched(model, so);
    sched.start();
    Stat ttft, prefill_rate;
    int32_t first_id = -1;
    for (int r = -1; r < o.repeats; ++r) {  // r == -1: warm-up
      const std::string what = fmt::format("TTFT repeat {}", r + 1);
      Trace tr;
      Countdown cd(1);
      tr.submit_ns = mono_ns();
      auto id = sched.submit(make_request(long_prompt, 1, tr, cd));
      if (!id) failed(what + ": submit: " + id.error().message);
      cd.wait();
      check_trace(tr, 1, what);
      if (first_id < 0) first_id = tr.ids[0];
      if (tr.ids[0] != first_id) failed(what + ": the first token differs between repeats");
      const double ms = double(tr.token_ns[0] - tr.submit_ns) / 1e6;
      if (r < 0) continue;
      ttft.runs.push_back(ms);
      prefill_rate.runs.push_back(double(o.ttft_tokens) / ms * 1e3);
      fmt::print(stderr, "  {}: {:.1f} ms\n", what, ms);
    }
    sched.stop();
    rows.push_back({fmt::format("TTFT {}-token prompt", o.ttft_tokens), "ms", ttft});
    rows.push_back({"  prefill rate", "tok/s", prefill_rate});
    jttft = {{"prompt_tokens", o.ttft_tokens},
             {"first_token_id", first_id},
             {"ms", ttft.to_json()},
             {"prefill_tokens_per_s", prefill_rate.to_json()}};
  }
  const std::string load_end = bench::loadavg();

  fmt::print("engine_speed: cacheon-engine CPU (fp32, OpenBLAS threads {}), model {}\n",
             blas_threads, model_name);
  fmt::print("decode: {}-token prompt, {} greedy tokens per request (ignore_eos); {} repeats; "
             "prompt ids (1000 + 37*i) % 100000\n",
             o.prompt_tokens, o.gen_tokens, o.repeats);
  fmt::print("{:<26} {:>12} {:>24}  {}\n", "measurement", "median", "[min - max]", "unit");
  for (const auto& row : rows)
    fmt::print("{:<26} {:>12.2f} {:>24}  {}\n", row.name, row.s.median(),
               fmt::format("[{:.2f} - {:.2f}]", row.s.min(), row.s.max()), row.unit);
  fmt::print("checked: {} tokens and finish 'length' per request; {} steps per decode; equal "
             "greedy tokens across batches and repeats\n",
             o.gen_tokens, o.gen_tokens);
  fmt::print("git {}  cpu '{}'  nproc {}  load {} -> {}\n", bench::git_describe(),
             bench::cpu_model(), sysconf(_SC_NPROCESSORS_ONLN), load_start, load_end);

  if (!o.json_path.empty()) {
    std::vector<int32_t> head(reference.begin(),
                              reference.begin() + std::min<size_t>(16, reference.size()));
    json j = {{"benchmark", "engine_speed"},
              {"engine", "cacheon-engine CPU (fp32, OpenBLAS)"},
              {"model", model_name},
              {"settings",
               {{"threads", blas_threads},
                {"threads_requested", o.threads},
                {"batches", o.batches},
                {"prompt_tokens", o.prompt_tokens},
                {"gen_tokens", o.gen_tokens},
                {"ttft_tokens", o.ttft_tokens},
                {"repeats", o.repeats},
                {"prompt_ids", "(1000 + 37*i) % 100000"},
                {"compute_dtype", "float32"},
                {"prefill_chunk", o.prefill_chunk}}},
              {"provenance",
               {{"git", bench::git_describe()},
                {"cpu", bench::cpu_model()},
                {"nproc", sysconf(_SC_NPROCESSORS_ONLN)},
                {"loadavg_start", load_start},
                {"loadavg_end", load_end},
                {"wall_ms", wall_ms()},
                {"openblas", openblas_get_config()},
#ifdef __OPTIMIZE__
                {"optimized", true},
#else
                {"optimized", false},
#endif
                {"compiler", __VERSION__}}},
              {"decode", jdecode},
              {"ttft", jttft},
              {"greedy_head", head}};
    std::ofstream f(o.json_path);
    f << j.dump(2) << "\n";
    if (!f) {
      fmt::print(stderr, "engine_speed: cannot write {}\n", o.json_path);
      return kExitUsage;
    }
  }
  return 0;
}
