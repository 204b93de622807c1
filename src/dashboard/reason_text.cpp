#include "dashboard/reason_text.h"

#include <utility>

#include <fmt/format.h>

namespace cacheon::dashboard {
namespace {

constexpr std::pair<std::string_view, std::string_view> kTexts[] = {
    {"correctness_first_mismatch",
     "Your server's greedy output differed from the baseline's on the same prompt before the "
     "allowed point, so the evaluation stopped counting speed. Serve the exact model weights "
     "and numerics (no lossy quantization or approximate kernels that change greedy tokens)."},
    {"correctness_teacher_forcing",
     "A trusted scorer replayed your tokens and found them too unlikely under the real model. "
     "Your server is generating from a different or degraded model; check weights, dtype and "
     "sampling."},
    {"prompt_error",
     "A request to your server failed (HTTP error, malformed stream or a timeout). Run "
     "`cacheon check` against your image and read the container log for the failing request."},
    {"too_few_tokens",
     "Your server stopped before producing the tokens the request asked for (max_tokens with "
     "ignore_eos). Honour max_tokens and do not stop early."},
    {"too_many_tokens", "Your server streamed more tokens than max_tokens allows."},
    {"logprob_count_mismatch",
     "The number of logprobs entries did not match the tokens streamed. Return one logprobs "
     "entry per generated token."},
    {"usage_mismatch",
     "The usage block (completion_tokens) disagreed with the tokens actually streamed."},
    {"finish_reason_missing", "The stream ended without a finish_reason."},
    {"finish_reason_invalid", "The stream carried a finish_reason the contract does not allow."},
    {"finish_reason_inconsistent",
     "The finish_reason contradicts the stream (e.g. \"length\" before max_tokens)."},
    {"data_after_done", "Your server sent data after the final [DONE] event."},
    {"tokens_after_finish", "Your server sent tokens after the chunk that carried finish_reason."},
    {"missing_done", "The stream ended without the final data: [DONE] event."},
    {"startup_timeout",
     "Your server did not answer GET /health with 200 within the startup limit. Load faster, "
     "or check the container log for a crash or a wrong port (serve on the port given to you)."},
    {"candidate_unreachable",
     "Your server exited or could not be reached. The container log shows its exit code and "
     "last lines."},
    {"image_unavailable",
     "The image could not be found by its digest. Push the image and commit the digest the "
     "registry reports."},
    {"image_pull_failed", "The image could not be pulled. Check that it is public and reachable."},
    {"image_too_large", "The image is larger than the arena allows. Slim it down."},
    {"image_digest_mismatch",
     "The registry served content whose digest differs from the one committed."},
    {"evaluation_timeout",
     "The whole evaluation took longer than the arena allows, so it was stopped."},
    {"baseline_failed",
     "The arena's baseline failed on this round. Nothing is held against you; you are "
     "evaluated again in a later round."},
    {"baseline_unstable",
     "The baseline produced different outputs across its own runs. Nothing is held against "
     "you; you are evaluated again in a later round."},
    {"scorer_unavailable",
     "The arena's trusted scorer was unavailable. Nothing is held against you; you are "
     "evaluated again in a later round."},
    {"harness_error",
     "The arena itself failed during this evaluation. Nothing is held against you; you are "
     "evaluated again in a later round."},
    {"launch_failed",
     "The arena could not start your server for reasons on its side. Nothing is held against "
     "you; you are evaluated again in a later round."},
};

}  // namespace

std::string reason_text(std::string_view code, bool decided, bool passed, double score,
                        std::string_view message) {
  if (code == "ok" || (passed && code.empty())) {
    if (score > 0)
      return fmt::format("Correct and {:.1f}% faster than the baseline on this round's prompts.",
                         score * 100);
    if (message.find("noise floor") != std::string_view::npos)
      return "Correct, but the speed-up was within the baseline's own run-to-run noise, so it "
             "counts as 0. A clearer speed-up is needed to hold a place.";
    return "Correct, but not faster than the baseline: a place needs a score above 0.";
  }
  for (const auto& [c, text] : kTexts)
    if (c == code) return std::string(text);
  if (!decided)
    return "The arena could not judge this evaluation (an arena-side failure). Nothing is held "
           "against you.";
  return fmt::format("The evaluation failed with reason \"{}\". See the message and the logs.",
                     code);
}

}  // namespace cacheon::dashboard
