// cacheon-testserver: the calibrated SSE source as a process (see testserver/test_server.h).
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "testserver/test_server.h"

using cacheon::testserver::Script;
using cacheon::testserver::TestServer;

int main(int argc, char** argv) {
  Script s;
  cacheon::HttpServerOptions opt;
  opt.port = 8000;

  CLI::App app{
      "cacheon-testserver: a calibrated OpenAI-compatible SSE source. Streams scripted tokens "
      "with exact timing (event j at t0 + ttft + j*chunk*itl, t0 = request fully read) and "
      "scripted faults, to measure and red-team the harness. Not an LLM."};
  app.option_defaults()->always_capture_default();
  app.add_option("--host", opt.host, "listen address");
  app.add_option("--port", opt.port, "listen port (0: pick a free one)");
  app.add_option("--threads", opt.threads, "event-loop threads")->check(CLI::Range(1, 256));
  app.add_option("--model", s.model, "the served model name (/v1/models; others get 404)");
  app.add_option("--ttft-ms", s.ttft_ms, "time to first token, from t0")
      ->check(CLI::Range(0.0, 3.6e6));
  app.add_option("--itl-ms", s.itl_ms, "time between tokens")->check(CLI::Range(0.0, 3.6e6));
  app.add_option("--tokens", s.tokens,
                 "output length when max_tokens is larger or absent (finish_reason stop); a "
                 "smaller max_tokens cuts the stream (finish_reason length)")
      ->check(CLI::PositiveNumber);
  app.add_option("--chunk", s.tokens_per_chunk, "tokens per SSE content event")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", s.seed,
                 "tokens are a function of (seed, prompt, position): same seed, same output");
  app.add_option("--diverge-at", s.diverge_at,
                 "from this token position on emit other tokens than the seed gives (-1: never)")
      ->check(CLI::Range(-1, 1 << 30));
  app.add_option("--diverge-gap", s.diverge_gap,
                 "at the divergence the seed's token is rank 2 with logprob top1 - gap; "
                 "gap > 5 drops it from top_logprobs")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--fault", s.fault, "scripted misbehaviour, see the list below");
  app.add_option("--fault-at", s.fault_at_fraction,
                 "where the fault kicks in, as a fraction of the output tokens")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--max-model-len", s.max_model_len,
                 "context window: prompt + max_tokens above it gets 400")
      ->check(CLI::PositiveNumber);
  app.add_option("--startup-delay-ms", s.startup_delay_ms,
                 "/health (and the API) answer 503 for this long after start")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--spin", s.spin,
               "busy-wait the last 150 us before each write (only while active streams <= "
               "threads): writes within a few us of their deadline at low concurrency");

  std::string footer = "\nFaults (--fault NAME; 'fault point' = --fault-at x output tokens):\n";
  for (const auto& f : cacheon::testserver::all_faults()) {
    footer += "  " + std::string(f.name) + ": " + std::string(f.doc) + "\n";
  }
  footer +=
      "\nPrints 'listening on http://HOST:PORT' once bound; SIGINT/SIGTERM stop it cleanly.\n";
  app.footer(footer);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "cacheon-testserver: %s (see --help)\n", e.what());
    return 2;
  }

  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  TestServer server(s, opt);
  if (auto st = server.start(); !st) {
    std::fprintf(stderr, "cacheon-testserver: %s\n", st.error().message.c_str());
    return 1;
  }
  std::printf("listening on http://%s:%u\n", opt.host.c_str(), unsigned(server.port()));
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  server.stop();
  std::fprintf(stderr, "cacheon-testserver: stopped (signal %d)\n", sig);
  return 0;
}
