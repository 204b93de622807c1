// Internal to the test server: shared state and one chat completion's timed response.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/http_server.h"
#include "testserver/script.h"
#include "testserver/test_server.h"

namespace cacheon::testserver {

struct TruthSlot {
  std::mutex mu;
  StreamTruth truth;
};

// Shared by the router and every session; sessions hold it so they may outlive the router.
struct ServerState {
  Script script;
  Fault fault = Fault::kNone;
  int threads = 1;
  int64_t ready_at_ns = 0;
  std::atomic<int> active_streams{0};
  std::atomic<uint64_t> seq{0};
  std::atomic<uint64_t> chat_requests{0};

  mutable std::mutex mu;
  std::vector<std::shared_ptr<TruthSlot>> truths;

  std::shared_ptr<TruthSlot> new_truth(std::string id, bool stream, int64_t t0);
};

// What the router derived from a valid request.
struct Plan {
  std::string id;
  int64_t created = 0;        // unix seconds
  uint64_t prompt_hash = 0;
  int64_t prompt_tokens = 0;
  int64_t n_tokens = 0;       // output length; ignored with the endless fault
  std::string finish_reason;  // "stop" or "length"
  bool stream = false;
  bool logprobs = false;
  int top_n = 0;
  bool include_usage = false;
  int64_t t0 = 0;
};

// Starts the timed response (stream or not); keeps itself alive until done.
void run_completion(std::shared_ptr<ServerState> state, std::shared_ptr<ResponseStream> res,
                    Plan plan);

}  // namespace cacheon::testserver
