// The worker's side of the protocol (`cacheon worker`): an HTTPS server that runs one evaluation
// at a time through an EvalExecutor (the in-process validator::Worker on the GPU host) and streams
// its progress and result back (README.md "Protocol").
//
// Threads: one accept thread; one thread per connection (few: max_connections, extra ones are
// closed at once); and ONE evaluation thread that lives as long as the server and runs every
// executor call, because the launcher's servers die with the thread that started them
// (PR_SET_PDEATHSIG), and the baseline outlives a single request.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "remote/auth.h"
#include "validator/executor.h"

namespace cacheon::remote {

struct WorkerServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see port())
  std::string cert_file, key_file;
  std::chrono::milliseconds eval_deadline{3 * 3600 * 1000};  // one evaluation, start to result
  std::chrono::milliseconds heartbeat{10'000};  // a record at least this often while evaluating
  std::chrono::milliseconds handshake_timeout{5'000};  // TLS handshake (before any auth)
  std::chrono::milliseconds request_timeout{30'000};   // request read; each write
  int max_connections = 32;
  int max_connections_per_peer = 4;  // one address cannot take every slot
  // Lines for the operator ("worker: evaluating ..."); default: none.
  std::function<void(const std::string&)> log;
  // Called once when an evaluation overruns eval_deadline (its result has been answered as
  // worker_deadline; the evaluation itself cannot be interrupted): the daemon exits here so its
  // supervisor restarts it and the servers die with it.
  std::function<void()> on_deadline;
};

struct WorkerStats {
  int64_t connections = 0;        // accepted TCP connections
  int64_t tls_failures = 0;       // handshakes that failed
  int64_t requests = 0;           // HTTP requests read (any path)
  int64_t auth_failures = 0;      // 401/503 answers
  int64_t busy_refusals = 0;      // 409 answers
  int64_t evaluations_started = 0;
  int64_t evaluations_finished = 0;
  bool busy = false;
};

class WorkerServer {
 public:
  WorkerServer(WorkerServerOptions options, Token token, validator::EvalExecutor& executor);
  ~WorkerServer();  // stop(); waits for a running evaluation to end
  WorkerServer(const WorkerServer&) = delete;
  WorkerServer& operator=(const WorkerServer&) = delete;

  // Loads the certificate and key and binds. Error codes: tls_config, bind_failed.
  Status start();
  void stop();  // idempotent
  uint16_t port() const;
  WorkerStats stats() const;

  // Feed the executor's harness::Progress lines here (Progress::set_sink): they go to the
  // evaluation in flight, if any.
  void progress_line(const std::string& line);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cacheon::remote
