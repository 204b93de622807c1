// cacheon-engine: the reference inference server (serve) and the synthetic model writer
// (make-model). Argument parsing and process concerns only; the server is engine_server.h.
#include <signal.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "engine/model/synthetic.h"
#include "engine/kernels/cpu/cpu_ops.h"
#include "engine/server/engine_server.h"

namespace {

using cacheon::engine::EngineServer;
using cacheon::engine::EngineServerOptions;
using cacheon::engine::LoadFormat;

constexpr int kExitUsage = 2;

// The one piece of process-wide state (STYLE: globals only for the signal handler). A handler,
// not sigwait: threads that libraries start before main (OpenBLAS's pool) do not block the stop
// signals, and a process-directed signal landing on one of them would kill the process with
// the default action instead of draining it.
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

// Serves until SIGINT/SIGTERM while watching the background load. Returns the exit code.
int serve(EngineServerOptions opt, double grace_s) {
  struct sigaction sa = {};
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  if (std::string w = cacheon::engine::cpu::blas_kernel_warning(); !w.empty())
    fmt::print(stderr, "cacheon-engine: warning: {}\n", w);

  EngineServer server(opt);
  if (auto st = server.start(); !st) {
    fmt::print(stderr, "cacheon-engine: {}\n", st.error().message);
    return 1;
  }
  fmt::print("listening on http://{}:{}\n", opt.host, server.port());
  std::fflush(stdout);

  bool loaded = false;
  while (g_stop_signal == 0) {
    if (loaded) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const auto state = server.wait_loaded(std::chrono::milliseconds(50));
    if (!state) continue;
    if (!*state) {
      const auto e = server.load_error();
      fmt::print(stderr, "cacheon-engine: cannot load {}: {} ({})\n", opt.model_dir, e.message,
                 e.code);
      server.stop();
      return 1;
    }
    loaded = true;
    fmt::print(stderr, "cacheon-engine: model loaded, ready\n");
  }
  // A second signal while draining only sets the flag again: the drain goes on.
  fmt::print(stderr, "cacheon-engine: signal {}: shutting down (grace {} s)\n", int(g_stop_signal),
             grace_s);
  server.shutdown(std::chrono::milliseconds(int64_t(grace_s * 1000)));
  fmt::print(stderr, "cacheon-engine: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "cacheon-engine: an OpenAI-compatible inference server for Qwen2 / Qwen2.5 models on the "
      "CPU (the Cacheon arena's reference engine and trusted teacher-forcing scorer)."};
  app.require_subcommand(1);

  EngineServerOptions opt;
  std::string load_format = "auto";
  double grace_s = 10;
  auto* serve_cmd = app.add_subcommand(
      "serve",
      "Serve a model: GET /health (503 while loading), GET /v1/models, POST "
      "/v1/chat/completions, POST /tokenize, POST /detokenize, POST /cacheon/v1/text_logprobs");
  serve_cmd->option_defaults()->always_capture_default();
  serve_cmd
      ->add_option("--model", opt.model_dir,
                   "model directory (HF layout: config.json, model.safetensors or "
                   "model.safetensors.index.json, tokenizer.json)")
      ->required();
  serve_cmd->add_option("--host", opt.host, "listen address");
  serve_cmd->add_option("--port", opt.port, "listen port (0: pick a free one, printed)");
  serve_cmd->add_option("--served-model-name", opt.served_model_name,
                        "the model name in /v1/models and requests (default: --model)");
  serve_cmd
      ->add_option("--max-model-len", opt.max_model_len,
                   "context window in tokens (prompt + output); 0: the model's "
                   "max_position_embeddings")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 24));
  serve_cmd->add_option("--max-num-seqs", opt.max_num_seqs, "sequences decoded together per step")
      ->check(CLI::Range(1, 4096));
  serve_cmd
      ->add_option("--max-queue", opt.max_queue,
                   "requests waiting beyond the running ones; more get HTTP 429")
      ->check(CLI::Range(0, 1 << 20));
  serve_cmd
      ->add_option("--prefill-chunk", opt.prefill_chunk,
                   "prompt tokens per sequence per step (chunked prefill)")
      ->check(CLI::Range(1, 1 << 20));
  serve_cmd
      ->add_option("--load-format", load_format,
                   "auto: safetensors from --model; dummy: deterministic random weights "
                   "for the config in --model (no weight files needed)")
      ->check(CLI::IsMember({"auto", "safetensors", "dummy"}));
  serve_cmd->add_option("--dummy-seed", opt.dummy_seed, "seed of --load-format dummy");
  serve_cmd->add_option("--threads", opt.threads, "compute threads (0: OpenBLAS default)")
      ->check(CLI::Range(0, 1024));
  serve_cmd->add_option("--http-threads", opt.http_threads, "HTTP event-loop threads")
      ->check(CLI::Range(1, 64));
  serve_cmd
      ->add_option("--shutdown-grace", grace_s,
                   "seconds in-flight requests may finish after SIGTERM/SIGINT before they "
                   "are cancelled")
      ->check(CLI::Range(0.0, 3600.0));
  serve_cmd->footer(
      "\nPrints 'listening on http://HOST:PORT' once bound; /health turns 200 when the model is "
      "loaded. SIGTERM/SIGINT: new requests get 503, in-flight ones finish within the grace, "
      "exit 0. A model that fails to load exits 1.\n");

  cacheon::engine::MakeModelOptions mk;
  auto* make_cmd = app.add_subcommand(
      "make-model",
      "Write a complete HF-layout model directory with deterministic synthetic weights and the "
      "Qwen tokenizer (for tests and benchmarks; no downloads)");
  make_cmd->option_defaults()->always_capture_default();
  make_cmd->add_option("--shape", mk.shape,
                       "tiny | qwen2.5-0.5b | qwen2.5-1.5b | qwen2.5-7b | qwen2.5-72b");
  make_cmd->add_option("--seed", mk.seed, "weight seed");
  make_cmd->add_option("--out", mk.out_dir, "output directory (written atomically)")->required();
  make_cmd->add_option("--tokenizer", mk.tokenizer_json_path,
                       std::string("tokenizer.json to copy (default: ") +
                           cacheon::engine::kDefaultTokenizerJson + " when it exists)");
  make_cmd->add_option("--dtype", mk.dtype, "weight dtype in the files")
      ->check(CLI::IsMember({"bfloat16", "float16", "float32"}));
  make_cmd->add_flag("--force", mk.force, "replace a non-empty --out");
  make_cmd->add_flag("--force-large", mk.force_large, "allow qwen2.5-72b (~145 GB)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "cacheon-engine: {} (see --help)\n", e.what());
    return kExitUsage;
  }

  if (make_cmd->parsed()) {
    mk.progress = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
    auto st = cacheon::engine::make_model(mk);
    if (!st) {
      fmt::print(stderr, "cacheon-engine make-model: {}\n", st.error().message);
      return st.error().code == "invalid_argument" ? kExitUsage : 1;
    }
    fmt::print("wrote {} ({}, seed {})\n", mk.out_dir, mk.shape, mk.seed);
    return 0;
  }
  opt.load_format = load_format == "dummy" ? LoadFormat::dummy : LoadFormat::safetensors;
  return serve(std::move(opt), grace_s);
}
