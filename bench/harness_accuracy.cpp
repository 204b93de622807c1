// Harness accuracy and cost against the calibrated SSE source. An in-process TestServer (its own
// event-loop threads) streams scripted tokens and records, per event, when it handed the bytes to
// the kernel (same CLOCK_MONOTONIC as the harness); run_workload runs on this thread with
// concurrency:N for each N in --streams. There is no external peer: the server's truth is the
// reference.
//
// Per level, from records matched to truths:
//   TTFT error    first-token arrival (harness) - write time of the first token event (server)
//   ITL error     (arrival gap) - (write gap) between consecutive token events, |.| summarized
//   arrival error every token's arrival - its event's write time
//   parse delay   parsed - arrival per event; dispatch lateness sent - scheduled per request
//   server late   event write - event deadline (a late server is not the harness's error)
//   handoff       time the server's send call took (write_ns .. handed_ns): the bytes reached the
//                 client's socket somewhere inside it, so it bounds how exact the truth is
//   client CPU    CLOCK_THREAD_CPUTIME_ID of this thread around run_workload (the runner is
//                 single-threaded on the calling thread); server CPU ~ process - this thread
//
// Matching: the source's completion id is "chatcmpl-" + hex(prompt_hash ^ seed*golden) + seq
// (testserver/test_server.cpp), and every request has a distinct prompt, so each record is matched
// to exactly one truth by its prompt. Before any number counts (STYLE #10) every request must have
// completed with the right token count, usage, finish and [DONE], and its token strings must equal
// the sequence make_token predicts for (seed, prompt); otherwise FAILED and exit 1.
//
// Pacing: the source is timed per stream, so N streams at ITL t are N/t events/s for both sides
// on one machine. --event-budget caps that: a level's ITL is max(--itl-ms, N / budget), so
// 1024 streams on 2 shared cores run at a sustainable rate instead of measuring an overloaded
// box. The ITL used is printed per level. The default 20000 events/s gives 1024 streams an ITL of
// 51 ms and costs about 0.3 core of client and 0.4 core of server; 5 ms at 1024 streams would be
// ~200k events/s, several cores' worth for the two sides together.
//
// Diagnostics: --csv writes each request's first-token timestamps (raw ns); --pin S,C pins the
// server's threads to CPU S and the runner to CPU C (the scheduler's placement matters on a VM).
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "provenance.h"
#include "core/clock.h"
#include "harness/runner.h"
#include "harness/stats.h"
#include "testserver/script.h"
#include "testserver/test_server.h"

using namespace cacheon;
using namespace cacheon::harness;
using nlohmann::json;
using testserver::Script;
using testserver::StreamTruth;
using testserver::TestServer;

namespace {

struct Settings {
  std::vector<int> streams{1, 64, 1024};
  int requests = 0;  // 0: auto per level
  int max_auto_requests = 3072;
  int warmup = 2;
  int tokens = 64;
  double ttft_ms = 20;
  double itl_ms = 5;
  double event_budget = 20000;  // events/s over all streams; 0 = no cap
  int server_threads = 1;
  bool spin = false;
  bool busy_poll = false;
  int tokens_per_chunk = 1;
  int top_n = 5;
  uint64_t seed = 1;
  std::string json_path;
  std::string csv_path;
  int pin_server = -1, pin_client = -1;  // CPU numbers; -1 = not pinned
};

int64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

using cacheon::bench::cpu_model;
using cacheon::bench::git_describe;
using cacheon::bench::loadavg;

[[noreturn]] void failed(const std::string& what) {
  fmt::print("FAILED: {}\n", what);
  std::fflush(stdout);
  std::exit(1);
}

void pin_this_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0)
    failed(fmt::format("cannot pin to CPU {}: {}", cpu, std::strerror(rc)));
}

std::vector<openai::ChatMessage> prompt_of(int level, int i, bool warm) {
  return {{"system", "You are a helpful assistant."},
          {"user", fmt::format("{} {} of the harness accuracy level with {} streams: tell a story "
                               "about a lighthouse keeper.",
                               warm ? "Warm-up request" : "Request", i, level)}};
}

// The id prefix the source derives from a prompt (see the header comment).
std::string id_key(const Script& s, uint64_t ph) {
  return fmt::format("{:016x}", ph ^ (s.seed * 0x9E3779B97F4A7C15ull));
}

struct Level {
  int streams = 0, requests = 0;
  double itl_ms = 0;
  std::vector<double> ttft_err, ttft_err_handed, ttft_err_later, itl_err_abs, itl_err, arrival_err,
      parse, dispatch, server_late, handoff, harness_ttft_ms, server_ttft_ms;
  int64_t tokens = 0;
  double client_cpu_s = 0, process_cpu_s = 0, wall_s = 0;
  std::string load_start, load_end;
  FILE* csv = nullptr;  // --csv: one row per measured request
};

// Checks every measured record against the script and its truth; fills the error samples.
void evaluate(const Settings& st, const Script& s, const std::vector<RequestSpec>& specs,
              const RunResult& run, const std::vector<StreamTruth>& truths, Level& L) {
  std::map<std::string, const StreamTruth*> by_key;
  for (const auto& t : truths) {
    if (t.id.size() < 9 + 16) failed("unexpected completion id '" + t.id + "'");
    if (!by_key.emplace(t.id.substr(9, 16), &t).second)
      failed("two server requests share the prompt key of '" + t.id + "'");
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    const RequestRecord& r = run.requests[i];
    const std::string who = fmt::format("level {} request {}", L.streams, i);
    if (!r.ok()) failed(fmt::format("{}: {}: {}", who, r.error_code, r.error_message));
    if (int(r.tokens.size()) != st.tokens)
      failed(fmt::format("{}: {} tokens, expected {}", who, r.tokens.size(), st.tokens));
    if (r.usage_completion_tokens != st.tokens || r.finish_reason != "length" || !r.saw_done ||
        !r.saw_role || r.tokens_after_finish != 0 || r.events_after_done != 0)
      failed(who + ": usage, finish, role or [DONE] not as scripted");
    const uint64_t ph = testserver::prompt_hash(specs[i].messages);
    for (int p = 0; p < st.tokens; ++p) {
      auto g = testserver::make_token(s, ph, p, st.top_n, false);
      if (r.tokens[size_t(p)].token != g.text)
        failed(fmt::format("{}: token {} is '{}', expected '{}'", who, p, r.tokens[size_t(p)].token,
                           g.text));
      if (int(r.tokens[size_t(p)].top.size()) != st.top_n)
        failed(fmt::format("{}: token {} has {} top_logprobs", who, p,
                           r.tokens[size_t(p)].top.size()));
    }
    auto it = by_key.find(id_key(s, ph));
    if (it == by_key.end()) failed(who + ": no server truth for its prompt");
    const StreamTruth& t = *it->second;
    if (int(t.token_write_ns.size()) != st.tokens ||
        std::any_of(t.token_write_ns.begin(), t.token_write_ns.end(),
                    [](int64_t x) { return x < 0; }))
      failed(who + ": server truth incomplete");

    // Samples (µs unless named _ms).
    L.ttft_err.push_back((r.first_token_ns - t.token_write_ns[0]) / 1e3);
    if (!t.event_handed_ns.empty() && t.event_handed_ns[0] >= 0)
      L.ttft_err_handed.push_back((r.first_token_ns - t.event_handed_ns[0]) / 1e3);
    if (int(i) >= L.streams) L.ttft_err_later.push_back(L.ttft_err.back());
    L.harness_ttft_ms.push_back((r.first_token_ns - r.sent_ns) / 1e6);
    L.server_ttft_ms.push_back((t.token_write_ns[0] - t.request_read_ns) / 1e6);
    L.dispatch.push_back((r.sent_ns - r.scheduled_ns) / 1e3);
    for (int p = 0; p < st.tokens; ++p) {
      const auto& tok = r.tokens[size_t(p)];
      L.arrival_err.push_back((tok.arrival_ns - t.token_write_ns[size_t(p)]) / 1e3);
      if (p == 0 || tok.chunk_index == r.tokens[size_t(p) - 1].chunk_index) continue;
      const double e = ((tok.arrival_ns - r.tokens[size_t(p) - 1].arrival_ns) -
                        (t.token_write_ns[size_t(p)] - t.token_write_ns[size_t(p) - 1])) /
                       1e3;
      L.itl_err.push_back(e);
      L.itl_err_abs.push_back(std::abs(e));
    }
    for (const auto& c : r.chunks) L.parse.push_back((c.parsed_ns - c.arrival_ns) / 1e3);
    for (size_t e = 0; e < t.event_write_ns.size(); ++e) {
      L.server_late.push_back((t.event_write_ns[e] - t.event_deadline_ns[e]) / 1e3);
      if (t.event_handed_ns[e] >= 0)
        L.handoff.push_back((t.event_handed_ns[e] - t.event_write_ns[e]) / 1e3);
    }
    L.tokens += int64_t(r.tokens.size());
    if (L.csv)
      fmt::print(L.csv, "{},{},{},{},{},{},{},{},{}\n", L.streams, i, r.scheduled_ns, r.sent_ns,
                 t.request_read_ns, t.event_deadline_ns[0], t.token_write_ns[0],
                 t.event_handed_ns[0], r.first_token_ns);
  }
}

Level run_level(const Settings& st, int n, FILE* csv) {
  Level L;
  L.streams = n;
  L.csv = csv;
  L.requests =
      st.requests > 0 ? st.requests : std::clamp(3 * n, 20, std::max(20, st.max_auto_requests));
  L.itl_ms = st.event_budget > 0 ? std::max(st.itl_ms, n * 1e3 / st.event_budget) : st.itl_ms;

  Script s;
  s.ttft_ms = st.ttft_ms;
  s.itl_ms = L.itl_ms;
  s.tokens = st.tokens;
  s.tokens_per_chunk = st.tokens_per_chunk;
  s.seed = st.seed;
  s.spin = st.spin;
  HttpServerOptions ho;
  ho.threads = st.server_threads;
  ho.max_connections = std::max(4096, 2 * n + 64);
  TestServer server(s, ho);
  // --pin: the server's threads inherit the affinity of this thread when they are created.
  if (st.pin_server >= 0) pin_this_thread(st.pin_server);
  if (Status started = server.start(); !started)
    failed("cannot start the test server: " + started.error().message);
  if (st.pin_client >= 0) pin_this_thread(st.pin_client);
  Url url = *Url::parse(fmt::format("http://127.0.0.1:{}", server.port()));

  RunOptions opt;
  opt.model = s.model;
  opt.logprobs = true;
  opt.top_logprobs = st.top_n;
  opt.include_usage = true;
  opt.busy_poll = st.busy_poll;

  // Warm-up: a separate run (code paths, allocator, server), outside the timed window.
  std::vector<RequestSpec> warm;
  for (int i = 0; i < st.warmup; ++i) warm.push_back({i, false, prompt_of(n, i, true), st.tokens});
  if (!warm.empty()) {
    RunResult w = run_workload(url, warm, *Workload::parse("concurrency:1"), opt);
    for (const auto& r : w.requests)
      if (!r.ok()) failed("warm-up request: " + r.error_code + ": " + r.error_message);
  }
  server.clear_truths();

  std::vector<RequestSpec> specs;
  specs.reserve(size_t(L.requests));
  for (int i = 0; i < L.requests; ++i)
    specs.push_back({i, false, prompt_of(n, i, false), st.tokens});
  const Workload w = *Workload::parse(fmt::format("concurrency:{}", n));

  L.load_start = loadavg();
  const int64_t cpu0 = thread_cpu_ns();
  RunResult run = run_workload(url, specs, w, opt);
  const int64_t cpu1 = thread_cpu_ns();
  L.load_end = loadavg();
  std::vector<StreamTruth> truths = server.truths();
  server.stop();

  L.client_cpu_s = (cpu1 - cpu0) / 1e9;
  L.process_cpu_s = run.client_cpu_ns / 1e9;
  L.wall_s = (run.end_ns - run.measured_start_ns) / 1e9;
  evaluate(st, s, specs, run, truths, L);
  return L;
}

std::string pp(const std::vector<double>& xs, const char* fmtspec = "{:.0f}") {
  return fmt::format(fmt::runtime(std::string(fmtspec) + "/" + fmtspec + "/" + fmtspec),
                     percentile(xs, 50), percentile(xs, 99), max_of(xs));
}

json level_json(const Level& L) {
  auto S = [](const std::vector<double>& xs) { return to_json(summarize(xs)); };
  const double tok = double(L.tokens);
  return {{"streams", L.streams},
          {"requests", L.requests},
          {"itl_ms", L.itl_ms},
          {"tokens", L.tokens},
          {"ttft_error_us", S(L.ttft_err)},
          {"ttft_error_vs_handoff_end_us", S(L.ttft_err_handed)},
          {"ttft_error_after_first_wave_us", S(L.ttft_err_later)},
          {"itl_error_abs_us", S(L.itl_err_abs)},
          {"itl_error_signed_us", S(L.itl_err)},
          {"arrival_error_us", S(L.arrival_err)},
          {"parse_delay_us", S(L.parse)},
          {"dispatch_lateness_us", S(L.dispatch)},
          {"server_lateness_us", S(L.server_late)},
          {"server_handoff_us", S(L.handoff)},
          {"harness_ttft_ms", S(L.harness_ttft_ms)},
          {"server_ttft_ms", S(L.server_ttft_ms)},
          {"client_cpu_s", L.client_cpu_s},
          {"process_cpu_s", L.process_cpu_s},
          {"server_cpu_s_approx", L.process_cpu_s - L.client_cpu_s},
          {"wall_s", L.wall_s},
          {"client_cpu_us_per_1000_tokens", L.client_cpu_s * 1e9 / tok},
          {"tokens_per_client_cpu_s", tok / L.client_cpu_s},
          {"tokens_per_s_delivered", tok / L.wall_s},
          {"client_core_utilization", L.client_cpu_s / L.wall_s},
          {"loadavg_start", L.load_start},
          {"loadavg_end", L.load_end}};
}

// 1024 streams hold ~2 sockets each in this process (client and server side).
void raise_fd_limit(int max_streams) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t want = rlim_t(2 * max_streams + 256);
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = std::min(want, rl.rlim_max);
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want)
    fmt::print(stderr, "warning: open-file limit {} may be too low for {} streams\n", rl.rlim_cur,
               max_streams);
}

}  // namespace

int main(int argc, char** argv) {
  Settings st;
  CLI::App app{
      "Harness accuracy and cost against the calibrated SSE source: an in-process test server "
      "records when it wrote each token; run_workload's arrival stamps are compared with it at "
      "concurrency:N for each N in --streams."};
  app.add_option("--streams", st.streams, "concurrency levels, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  app.add_option("--requests", st.requests,
                 "measured requests per level; 0 = max(20, min(3*N, --max-auto-requests))")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  app.add_option("--max-auto-requests", st.max_auto_requests, "cap of the automatic request count")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--warmup", st.warmup, "sequential warm-up requests per level (not measured)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  app.add_option("--tokens", st.tokens, "tokens per request (max_tokens)")
      ->check(CLI::Range(2, 100'000))
      ->capture_default_str();
  app.add_option("--ttft-ms", st.ttft_ms, "scripted time to first token")
      ->check(CLI::Range(0.0, 60'000.0))
      ->capture_default_str();
  app.add_option("--itl-ms", st.itl_ms, "scripted inter-token latency (floor; see --event-budget)")
      ->check(CLI::Range(0.0, 60'000.0))
      ->capture_default_str();
  app.add_option("--event-budget", st.event_budget,
                 "token events/s over all streams; a level's ITL is max(--itl-ms, N/budget); 0 = "
                 "no cap")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--server-threads", st.server_threads, "test server event-loop threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  const std::string spin_help = fmt::format(
      "server busy-waits the last {} us before each write while streams <= server threads "
      "(Script::spin)",
      testserver::kSpinNs / 1000);
  app.add_flag("--spin", st.spin, spin_help);
  app.add_flag("--busy-poll", st.busy_poll,
               "the runner spins on its event loop instead of sleeping in epoll");
  app.add_option("--tokens-per-chunk", st.tokens_per_chunk, "tokens per SSE content event")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--top-logprobs", st.top_n, "top_logprobs per token")
      ->check(CLI::Range(0, 20))
      ->capture_default_str();
  app.add_option("--seed", st.seed, "script seed")->capture_default_str();
  app.add_option("--json", st.json_path, "also write all numbers and provenance to this file");
  app.add_option("--csv", st.csv_path, "also write per-request first-token timestamps (ns) here");
  std::vector<int> pin;
  app.add_option("--pin", pin,
                 "SERVER_CPU,CLIENT_CPU: pin the server's threads and the runner's thread")
      ->delimiter(',')
      ->expected(2)
      ->check(CLI::Range(0, 4095));
  CLI11_PARSE(app, argc, argv);
  if (pin.size() == 2) {
    st.pin_server = pin[0];
    st.pin_client = pin[1];
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (st.pin_server >= cpus || st.pin_client >= cpus) {
      fmt::print(stderr, "error: --pin: CPUs are numbered 0..{} here\n", cpus - 1);
      return 2;
    }
  }
  if (st.streams.empty()) {
    fmt::print(stderr, "error: --streams needs at least one level\n");
    return 2;
  }
  if (st.itl_ms <= 0 && st.event_budget <= 0) {
    fmt::print(stderr, "error: --itl-ms 0 needs an --event-budget (else the source floods)\n");
    return 2;
  }
  raise_fd_limit(*std::max_element(st.streams.begin(), st.streams.end()));

  const std::string git = git_describe(), cpu = cpu_model(), load0 = loadavg();
  const long nproc = sysconf(_SC_NPROCESSORS_ONLN);
  fmt::print("harness_accuracy: git {}, {} x '{}', load {}\n", git, nproc, cpu, load0);
  fmt::print(
      "source: ttft {} ms, itl >= {} ms (event budget {}/s), {} tokens, {} tok/event, "
      "top_logprobs {}, server threads {}{}{}\n",
      st.ttft_ms, st.itl_ms, st.event_budget, st.tokens, st.tokens_per_chunk, st.top_n,
      st.server_threads, st.spin ? ", spin" : "",
      st.pin_server >= 0
          ? fmt::format(", pinned: server cpu {}, client cpu {}", st.pin_server, st.pin_client)
          : "");

  FILE* csv = nullptr;
  if (!st.csv_path.empty()) {
    csv = std::fopen(st.csv_path.c_str(), "w");
    if (!csv) {
      fmt::print(stderr, "error: cannot write {}\n", st.csv_path);
      return 2;
    }
    fmt::print(csv,
               "streams,request,scheduled_ns,sent_ns,server_read_ns,first_deadline_ns,"
               "first_write_ns,first_handed_ns,first_arrival_ns\n");
  }
  std::vector<Level> levels;
  for (int n : st.streams) {
    levels.push_back(run_level(st, n, csv));
    const Level& L = levels.back();
    fmt::print("  level {}: {} requests checked OK ({} tokens, itl {:.2f} ms, {:.1f} s, load {})\n",
               n, L.requests, L.tokens, L.itl_ms, L.wall_s, L.load_end);
    std::fflush(stdout);
  }

  fmt::print(
      "\nAccuracy vs server truth (us, p50/p99/max). TTFT err = harness first-token arrival"
      " - server write;\n'later' = requests after the first wave (no connect burst); "
      "'vs handoff' = arrival - end of the server's send call\n");
  fmt::print("{:>7} {:>6} {:>7} | {:>18} {:>18} {:>18} | {:>18} {:>18}\n", "streams", "reqs",
             "itl ms", "TTFT err", "TTFT err later", "TTFT vs handoff", "|ITL err|", "arrival err");
  for (const Level& L : levels)
    fmt::print("{:>7} {:>6} {:>7.2f} | {:>18} {:>18} {:>18} | {:>18} {:>18}\n", L.streams,
               L.requests, L.itl_ms, pp(L.ttft_err), pp(L.ttft_err_later), pp(L.ttft_err_handed),
               pp(L.itl_err_abs), pp(L.arrival_err));
  fmt::print(
      "\nWhere time goes (us, p50/p99/max): harness parse delay and dispatch lateness; "
      "server lateness and send-call duration\n");
  fmt::print("{:>7} | {:>18} {:>18} | {:>18} {:>18}\n", "streams", "parse delay", "dispatch late",
             "server late", "server send call");
  for (const Level& L : levels)
    fmt::print("{:>7} | {:>18} {:>18} | {:>18} {:>18}\n", L.streams, pp(L.parse, "{:.1f}"),
               pp(L.dispatch), pp(L.server_late), pp(L.handoff));
  fmt::print("\nCost (client = the runner's thread; server ~ process CPU - client)\n");
  fmt::print("{:>7} {:>10} {:>8} {:>11} {:>16} {:>14} {:>11} {:>11}\n", "streams", "tokens",
             "wall s", "tok/s", "client us/1k tok", "tok/client-s", "client CPU", "server CPU");
  for (const Level& L : levels)
    fmt::print("{:>7} {:>10} {:>8.2f} {:>11.0f} {:>16.0f} {:>14.0f} {:>10.0f}% {:>10.0f}%\n",
               L.streams, L.tokens, L.wall_s, L.tokens / L.wall_s,
               L.client_cpu_s * 1e9 / double(L.tokens), L.tokens / L.client_cpu_s,
               100 * L.client_cpu_s / L.wall_s,
               100 * (L.process_cpu_s - L.client_cpu_s) / L.wall_s);

  fmt::print("\nTargets\n");
  for (const Level& L : levels) {
    const double p99 = percentile(L.ttft_err, 99);
    if (L.streams == 1)
      fmt::print("  TTFT error p99 at 1 stream: {:.0f} us (target <= 50): {}\n", p99,
                 p99 <= 50 ? "MET" : "NOT MET");
    if (L.streams == 1024)
      fmt::print("  TTFT error p99 at 1024 streams: {:.0f} us (target <= 200): {}\n", p99,
                 p99 <= 200 ? "MET" : "NOT MET");
  }
  fmt::print(
      "  tokens parsed per core: see bench/parse_throughput (end-to-end here: tok/client-s)\n");
  if (csv) std::fclose(csv);
  const std::string load1 = loadavg();
  fmt::print("load at end: {}\n", load1);

  if (!st.json_path.empty()) {
    json jl = json::array();
    for (const Level& L : levels) jl.push_back(level_json(L));
    json j = {{"benchmark", "harness_accuracy"},
              {"settings",
               {{"streams", st.streams},
                {"requests", st.requests},
                {"max_auto_requests", st.max_auto_requests},
                {"warmup", st.warmup},
                {"tokens", st.tokens},
                {"ttft_ms", st.ttft_ms},
                {"itl_ms", st.itl_ms},
                {"event_budget", st.event_budget},
                {"server_threads", st.server_threads},
                {"spin", st.spin},
                {"tokens_per_chunk", st.tokens_per_chunk},
                {"top_logprobs", st.top_n},
                {"seed", st.seed}}},
              {"provenance",
               {{"git", git},
                {"cpu", cpu},
                {"nproc", nproc},
                {"loadavg_start", load0},
                {"loadavg_end", load1},
                {"wall_ms", wall_ms()},
#ifdef __OPTIMIZE__
                {"optimized", true},
#else
                {"optimized", false},
#endif
                {"compiler", __VERSION__}}},
              {"levels", jl}};
    std::ofstream f(st.json_path);
    f << j.dump(2) << "\n";
    if (!f) {
      fmt::print(stderr, "error: cannot write {}\n", st.json_path);
      return 2;
    }
  }
  return 0;
}
