// JSON conversions of the protocol's values, strictly validated on the way in.
#include <cmath>

#include <fmt/format.h>

#include "remote/protocol.h"

namespace cacheon::remote {
namespace {

using nlohmann::json;

// Field readers: each names the field in its error.
struct Reader {
  const json& j;
  std::string where;
  std::optional<Error> err;

  const json* field(const char* name, json::value_t t1, json::value_t t2 = json::value_t::null) {
    if (err) return nullptr;
    if (!j.is_object()) {
      err = Error{"bad_request", where + ": must be an object"};
      return nullptr;
    }
    auto it = j.find(name);
    if (it == j.end()) {
      err = Error{"bad_request", fmt::format("{}.{}: missing", where, name)};
      return nullptr;
    }
    if (it->type() != t1 && (t2 == json::value_t::null || it->type() != t2)) {
      err = Error{"bad_request", fmt::format("{}.{}: wrong type", where, name)};
      return nullptr;
    }
    return &*it;
  }
  int64_t integer(const char* name, int64_t lo, int64_t hi) {
    const json* f = field(name, json::value_t::number_unsigned, json::value_t::number_integer);
    if (!f) return 0;
    const bool too_big = f->is_number_unsigned() && f->get<uint64_t>() > uint64_t(INT64_MAX);
    const int64_t v = too_big ? 0 : f->get<int64_t>();
    if (too_big || v < lo || v > hi)
      err = Error{"bad_request", fmt::format("{}.{}: out of range", where, name)};
    return v;
  }
  std::string text(const char* name, size_t max) {
    const json* f = field(name, json::value_t::string);
    if (!f) return {};
    const auto& s = f->get_ref<const std::string&>();
    if (s.size() > max) err = Error{"bad_request", fmt::format("{}.{}: too long", where, name)};
    return s;
  }
  bool boolean(const char* name) {
    const json* f = field(name, json::value_t::boolean);
    return f && f->get<bool>();
  }
  double number(const char* name) {
    if (err) return 0;
    const json* f = j.is_object() && j.contains(name) ? &j.at(name) : nullptr;
    if (!f || !f->is_number()) {
      err = Error{"bad_request", fmt::format("{}.{}: must be a number", where, name)};
      return 0;
    }
    double v = f->get<double>();
    if (!std::isfinite(v)) err = Error{"bad_request", fmt::format("{}.{}: not finite", where, name)};
    return v;
  }
  std::optional<double> optional_number(const char* name) {
    if (err || !j.is_object()) return std::nullopt;
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return std::nullopt;
    return number(name);
  }
};

bool code_like(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == ':'))
      return false;
  return true;
}

json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

json to_json(const store::Participant& p) {
  return {{"position", p.position},     {"hotkey", p.key.hotkey},
          {"commit_block", p.key.commit_block}, {"role", store::to_string(p.role)},
          {"image", p.image},           {"digest", p.digest}};
}

Result<store::Participant> participant_from_json(const json& j) {
  Reader r{j, "participant"};
  store::Participant p;
  p.position = static_cast<int>(r.integer("position", 0, 100'000));
  p.key.hotkey = r.text("hotkey", 128);
  p.key.commit_block = r.integer("commit_block", 0, INT64_MAX);
  std::string role = r.text("role", 32);
  p.image = r.text("image", 512);
  p.digest = r.text("digest", 128);
  if (r.err) return *r.err;
  auto parsed = store::parse_role(role);
  if (!parsed) return Error{"bad_request", "participant.role: unknown role"};
  p.role = *parsed;
  return p;
}

json to_json(const validator::EvalJob& job) {
  json ps = json::array();
  for (const auto& p : job.participants) ps.push_back(to_json(p));
  return {{"round_id", job.round_id},
          {"block", job.block},
          {"block_hash", job.block_hash},
          {"participants", ps}};
}

Result<validator::EvalJob> job_from_json(const json& j) {
  Reader r{j, "job"};
  validator::EvalJob job;
  job.round_id = r.integer("round_id", 0, INT64_MAX);
  job.block = r.integer("block", 0, INT64_MAX);
  job.block_hash = r.text("block_hash", 256);
  const json* ps = r.field("participants", json::value_t::array);
  if (r.err) return *r.err;
  if (ps->size() > kMaxParticipants) return Error{"bad_request", "job.participants: too many"};
  for (const auto& pj : *ps) {
    auto p = participant_from_json(pj);
    if (!p.ok()) return p.error();
    job.participants.push_back(std::move(*p));
  }
  return job;
}

json to_json(const store::EvalResult& r) {
  json prompts = json::array();
  for (const auto& p : r.prompts)
    prompts.push_back({{"prompt_index", p.prompt_index},
                       {"baseline_tokens", p.baseline_tokens},
                       {"candidate_tokens", p.candidate_tokens},
                       {"baseline_e2e_ms", opt(p.baseline_e2e_ms)},
                       {"candidate_e2e_ms", opt(p.candidate_e2e_ms)},
                       {"candidate_ttft_ms", opt(p.candidate_ttft_ms)},
                       {"improvement", p.improvement},
                       {"gates_passed", p.gates_passed},
                       {"note", p.note}});
  return {{"decided", r.decided},        {"passed", r.passed},
          {"score", std::isfinite(r.score) ? r.score : 0.0},
          {"reason_code", r.reason_code}, {"message", r.message},
          {"blame", r.blame},             {"report_path", r.report_path},
          {"logs_path", r.logs_path},     {"fingerprint", r.fingerprint},
          {"prompts", prompts}};
}

Result<store::EvalResult> result_from_json(const json& j) {
  Reader r{j, "result"};
  store::EvalResult out;
  out.decided = r.boolean("decided");
  out.passed = r.boolean("passed");
  out.score = r.number("score");
  out.reason_code = r.text("reason_code", 64);
  out.message = r.text("message", 8192);
  out.blame = r.text("blame", 16);
  out.report_path = r.text("report_path", 4096);
  out.logs_path = r.text("logs_path", 4096);
  out.fingerprint = r.text("fingerprint", 128);
  const json* ps = r.field("prompts", json::value_t::array);
  if (r.err) return *r.err;
  if (!code_like(out.reason_code)) return Error{"bad_request", "result.reason_code: malformed"};
  if (out.blame != "none" && out.blame != "candidate" && out.blame != "arena")
    return Error{"bad_request", "result.blame: must be none, candidate or arena"};
  if (ps->size() > 100'000) return Error{"bad_request", "result.prompts: too many"};
  for (const auto& pj : *ps) {
    Reader pr{pj, "result.prompts[]"};
    store::PromptRow row;
    row.prompt_index = static_cast<int>(pr.integer("prompt_index", 0, 10'000'000));
    row.baseline_tokens = pr.integer("baseline_tokens", 0, INT64_MAX);
    row.candidate_tokens = pr.integer("candidate_tokens", 0, INT64_MAX);
    row.baseline_e2e_ms = pr.optional_number("baseline_e2e_ms");
    row.candidate_e2e_ms = pr.optional_number("candidate_e2e_ms");
    row.candidate_ttft_ms = pr.optional_number("candidate_ttft_ms");
    row.improvement = pr.number("improvement");
    row.gates_passed = pr.boolean("gates_passed");
    row.note = pr.text("note", 1024);
    if (pr.err) return *pr.err;
    out.prompts.push_back(std::move(row));
  }
  return out;
}

std::string evaluate_body(const EvaluateRequest& r) {
  return json{{"version", kProtocolVersion},
              {"job", to_json(r.job)},
              {"participant", to_json(r.participant)},
              {"attempt", r.attempt}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<EvaluateRequest> parse_evaluate_body(std::string_view body) {
  if (body.size() > kMaxRequestBody) return Error{"bad_request", "request body too large"};
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{"bad_request", "body is not a JSON object"};
  Reader r{j, "request"};
  int64_t version = r.integer("version", 0, 1'000'000);
  EvaluateRequest req;
  req.attempt = static_cast<int>(r.integer("attempt", 0, 1'000'000));
  const json* job = r.field("job", json::value_t::object);
  const json* part = r.field("participant", json::value_t::object);
  if (r.err) return *r.err;
  if (version != kProtocolVersion)
    return Error{"bad_request", fmt::format("protocol version {} is not {}", version,
                                            kProtocolVersion)};
  auto jb = job_from_json(*job);
  if (!jb.ok()) return jb.error();
  auto p = participant_from_json(*part);
  if (!p.ok()) return p.error();
  bool listed = false;
  for (const auto& q : jb->participants) listed = listed || q.key == p->key;
  if (!listed) return Error{"bad_request", "participant: not one of the job's participants"};
  req.job = std::move(*jb);
  req.participant = std::move(*p);
  return req;
}

}  // namespace cacheon::remote
