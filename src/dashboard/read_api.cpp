#include "dashboard/read_api.h"

#include <charconv>
#include <filesystem>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "core/clock.h"
#include "dashboard/api_json.h"
#include "dashboard/files.h"
#include "dashboard/metrics.h"
#include "harness/html_report.h"
#include "store/queries.h"

namespace cacheon::dashboard {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxQueryBytes = 2048;
constexpr size_t kMaxStatusBytes = 8 << 20;

struct Target {
  std::string path;
  std::map<std::string, std::string> params;
};

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int a = hex(s[i + 1]), b = hex(s[i + 2]);
      if (a < 0 || b < 0) return std::nullopt;
      out += static_cast<char>(a * 16 + b);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Result<Target> parse_target(const std::string& target) {
  Target t;
  auto q = target.find('?');
  t.path = target.substr(0, q);
  if (q == std::string::npos) return t;
  std::string_view query(target);
  query.remove_prefix(q + 1);
  if (query.size() > kMaxQueryBytes) return Error{"bad_query", "the query string is too long"};
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!key || !value) return Error{"bad_query", "malformed percent-encoding in the query"};
    t.params[*key] = *value;
  }
  return t;
}

std::optional<int64_t> to_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Reads an integer parameter within [lo, hi]; absent -> fallback.
Result<int64_t> int_param(const Target& t, const std::string& name, int64_t fallback, int64_t lo,
                          int64_t hi) {
  auto it = t.params.find(name);
  if (it == t.params.end() || it->second.empty()) return fallback;
  auto v = to_int(it->second);
  if (!v || *v < lo || *v > hi)
    return Error{"bad_parameter", fmt::format("{} must be an integer in [{}, {}]", name, lo, hi)};
  return *v;
}

std::optional<std::string> str_param(const Target& t, const std::string& name) {
  auto it = t.params.find(name);
  if (it == t.params.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

Reply bad(const Error& e) { return error_reply(400, e.code, e.message); }

struct Paging {
  int limit = 50;
  int64_t offset = 0;
};

// limit (1..500) and offset (>= 0) of a list route.
Result<Paging> paging(const Target& t, int64_t default_limit = 50) {
  auto limit = int_param(t, "limit", default_limit, 1, 500);
  auto offset = int_param(t, "offset", 0, 0, int64_t{1} << 40);
  if (!limit.ok()) return limit.error();
  if (!offset.ok()) return offset.error();
  return Paging{static_cast<int>(*limit), *offset};
}

json page_json(int64_t total, const Paging& p, json items) {
  return {{"total", total}, {"limit", p.limit}, {"offset", p.offset}, {"items", std::move(items)}};
}

Reply store_error(const Error& e) {
  return error_reply(503, "store_unavailable", "the arena store cannot be read: " + e.message);
}

json read_json_file(const std::string& path) {
  if (path.empty()) return nullptr;
  auto text = read_whole(path, "", kMaxStatusBytes);
  if (!text.ok()) return nullptr;
  json j = json::parse(*text, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

// Splits "/api/v1/evaluations/12/logs" after the prefix into {"12", "logs"}.
std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// live.json as the API shows it: "stale" when a running round stopped updating it.
Reply live_reply(const DashboardSources& src) {
  json doc = read_json_file(src.live_path);
  if (!doc.is_object())
    return json_reply(200, {{"available", false}, {"active", false}, {"stale", false},
                            {"updated_ms", nullptr}});
  doc["available"] = true;
  const bool active = doc.value("active", false);
  const int64_t updated = doc.contains("updated_ms") && doc["updated_ms"].is_number_integer()
                              ? doc["updated_ms"].get<int64_t>()
                              : 0;
  doc["stale"] = active && wall_ms() - updated > ReadApi::kStaleAfterMs;
  return json_reply(200, doc);
}

class Handler {
 public:
  Handler(const DashboardSources& src, store::ArenaStore& store, ReportPageCache& pages)
      : src_(src), store_(store), pages_(pages) {}

  Reply status() {
    json st = read_json_file(src_.status_path);
    auto counts = store::arena_counts(store_);
    if (!counts.ok()) return store_error(counts.error());
    auto latest = store_.latest_standings();
    if (!latest.ok()) return store_error(latest.error());
    auto cursor = store_.scan_cursor();
    auto weights = store_.last_weights_set();
    auto count_of = [](const std::map<std::string, int64_t>& m, const char* k) {
      auto it = m.find(k);
      return it == m.end() ? int64_t{0} : it->second;
    };
    int64_t submissions = 0, evaluations = 0, rounds = 0;
    for (const auto& [k, v] : counts->submissions) submissions += v;
    for (const auto& [k, v] : counts->rounds) rounds += v;
    evaluations = count_of(counts->evaluations, "done");
    const int64_t queued = count_of(counts->submissions, "queued");
    json validator = nullptr;
    if (st.is_object())
      validator = {{"hotkey", st.value("validator", "")},
                   {"netuid", st.contains("netuid") ? st["netuid"] : json()},
                   {"model", st.value("model", "")},
                   {"status_updated_ms", st.contains("updated_ms") ? st["updated_ms"] : json()},
                   {"error", st.contains("error") ? st["error"] : json()}};
    const auto& row = *latest;
    json j = {{"api_version", 1},
              {"generated_ms", wall_ms()},
              {"validator", validator},
              {"leader", placement_json(store_, row ? row->leader : std::nullopt)},
              {"runner_up", placement_json(store_, row ? row->runner_up : std::nullopt)},
              {"standings_block", row ? json(row->block) : json()},
              {"counts",
               {{"submissions", submissions},
                {"evaluated", count_of(counts->submissions, "evaluated")},
                {"active", queued + count_of(counts->evaluations, "running")},
                {"queued", queued},
                {"disqualified", counts->disqualified},
                {"duplicates", count_of(counts->submissions, "duplicate")},
                {"rejected", count_of(counts->submissions, "rejected")},
                {"evaluations", evaluations},
                {"rounds", rounds}}},
              {"last_evaluation_ms", opt(counts->last_finished_ms)},
              {"last_scanned_block",
               cursor.ok() && *cursor >= 0 ? json(*cursor) : json(nullptr)},
              {"last_weights_block", weights.ok() && weights->has_value()
                                         ? opt((*weights)->set_block)
                                         : json(nullptr)},
              {"live", json::parse(live_reply(src_).body, nullptr, false)}};
    return json_reply(200, j);
  }

  Reply leader() {
    auto latest = store_.latest_standings();
    if (!latest.ok()) return store_error(latest.error());
    const auto& row = *latest;
    return json_reply(200, {{"block", row ? json(row->block) : json()},
                            {"leader", placement_json(store_, row ? row->leader : std::nullopt)},
                            {"runner_up",
                             placement_json(store_, row ? row->runner_up : std::nullopt)}});
  }

  Reply history(const Target& t) {
    auto p = paging(t, 100);
    if (!p.ok()) return bad(p.error());
    auto total = store::standings_count(store_);
    auto rows = store::standings_page(store_, p->limit, p->offset);
    if (!total.ok()) return store_error(total.error());
    if (!rows.ok()) return store_error(rows.error());
    json items = json::array();
    for (const auto& r : *rows) items.push_back(history_item_json(store_, r));
    return json_reply(200, page_json(*total, *p, std::move(items)));
  }

  Reply evaluations(const Target& t) {
    store::EvalQuery q;
    auto p = paging(t);
    if (!p.ok()) return bad(p.error());
    auto round = int_param(t, "round", -1, 0, int64_t{1} << 62);
    if (!round.ok()) return bad(round.error());
    q.limit = p->limit;
    q.offset = p->offset;
    if (*round >= 0) q.round_id = *round;
    q.hotkey = str_param(t, "hotkey");
    q.reason = str_param(t, "reason");
    if (auto s = str_param(t, "state")) {
      q.state = store::parse_eval_state(*s);
      if (!q.state) return bad({"bad_parameter", "state must be pending, running or done"});
    }
    if (auto o = str_param(t, "outcome")) {
      static const std::map<std::string, store::Outcome> kOutcomes = {
          {"passed", store::Outcome::passed},
          {"failed", store::Outcome::failed},
          {"undecided", store::Outcome::undecided}};
      auto it = kOutcomes.find(*o);
      if (it == kOutcomes.end())
        return bad({"bad_parameter", "outcome must be passed, failed or undecided"});
      q.outcome = it->second;
    }
    if (auto s = str_param(t, "sort")) {
      static const std::map<std::string, store::EvalSort> kSorts = {
          {"finished", store::EvalSort::finished}, {"score", store::EvalSort::score},
          {"round", store::EvalSort::round},       {"hotkey", store::EvalSort::hotkey},
          {"duration", store::EvalSort::duration}};
      auto it = kSorts.find(*s);
      if (it == kSorts.end())
        return bad({"bad_parameter", "sort must be finished, score, round, hotkey or duration"});
      q.sort = it->second;
    }
    if (auto o = str_param(t, "order")) {
      if (*o != "asc" && *o != "desc") return bad({"bad_parameter", "order must be asc or desc"});
      q.descending = *o == "desc";
    }
    auto page = store::query_evaluations(store_, q);
    if (!page.ok()) return store_error(page.error());
    std::map<int64_t, UidMap> uids;
    json items = json::array();
    for (const auto& e : page->items) {
      auto it = uids.find(e.round_id);
      if (it == uids.end()) it = uids.emplace(e.round_id, uids_of_round(store_, e.round_id)).first;
      items.push_back(eval_summary_json(e, it->second));
    }
    return json_reply(200, page_json(page->total, *p, std::move(items)));
  }

  Reply evaluation(const std::vector<std::string>& seg, const Target& t) {
    auto id = to_int(seg[0]);
    if (!id || *id < 0) return error_reply(404, "not_found", "no such evaluation");
    auto row = store::evaluation_by_id(store_, *id);
    if (!row.ok()) return store_error(row.error());
    if (!row->has_value()) return error_reply(404, "not_found", "no such evaluation");
    const auto& e = **row;
    if (seg.size() == 1)
      return json_reply(200, eval_detail_json(e, uids_of_round(store_, e.round_id),
                                              src_.logs_root));
    const std::string& what = seg[1];
    if (seg.size() != 2 || !e.result)
      return error_reply(404, "not_found", "nothing recorded for this evaluation yet");
    if (what == "logs") return tail(e.result->logs_path, src_.logs_root, t);
    if (what != "report" && what != "report.html")
      return error_reply(404, "not_found", "no such route");
    auto text = read_whole(e.result->report_path, src_.logs_root, ReadApi::kMaxReportBytes);
    if (!text.ok()) return file_error(text.error());
    if (what == "report") {
      Reply r;
      r.body = std::move(*text);
      return r;
    }
    Reply r;
    r.content_type = "text/html; charset=utf-8";
    std::error_code ec;
    const auto mtime = fs::last_write_time(e.result->report_path, ec);
    const std::string key = fmt::format("{}|{}|{}", e.result->report_path, text->size(),
                                        ec ? 0 : mtime.time_since_epoch().count());
    if (pages_.find(key, r.body)) return r;
    json report = json::parse(*text, nullptr, false);
    if (report.is_discarded())
      return error_reply(500, "report_corrupt", "the stored report is not valid JSON");
    r.body = harness::eval_report_html(report);
    pages_.put(key, r.body);
    return r;
  }

  // The last tail_bytes of a log under `root` ("" = any path: the validator's own log).
  Reply tail(const std::string& path, const std::string& root, const Target& t) {
    auto bytes = int_param(t, "tail_bytes", ReadApi::kMaxLogBytes, 1, ReadApi::kMaxLogBytes);
    if (!bytes.ok()) return bad(bytes.error());
    auto tail = read_tail(path, root, static_cast<size_t>(*bytes));
    if (!tail.ok()) return file_error(tail.error());
    Reply r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::move(tail->text);
    r.headers.emplace_back("X-Log-Truncated", tail->truncated ? "true" : "false");
    return r;
  }

  Reply validator_log(const Target& t) {
    if (src_.validator_log.empty())
      return error_reply(404, "not_found", "no validator log is configured");
    return tail(src_.validator_log, "", t);
  }

  Reply submissions(const Target& t) {
    store::SubmissionQuery q;
    auto p = paging(t);
    if (!p.ok()) return bad(p.error());
    q.limit = p->limit;
    q.offset = p->offset;
    q.hotkey = str_param(t, "hotkey");
    if (auto s = str_param(t, "state")) {
      q.state = store::parse_submission_state(*s);
      if (!q.state) return bad({"bad_parameter", "state must be a submission state"});
    }
    auto page = store::query_submissions(store_, q);
    if (!page.ok()) return store_error(page.error());
    json items = json::array();
    for (const auto& r : page->items) {
      json latest = nullptr;
      if (auto evals = store_.evaluations_of(r.key()); evals.ok() && !evals->empty())
        latest = evals->back().id;
      items.push_back({{"hotkey", r.sub.hotkey},
                       {"commit_block", r.sub.commit_block},
                       {"image", r.sub.image},
                       {"digest", r.sub.digest},
                       {"state", store::to_string(r.state)},
                       {"reason", r.reason},
                       {"message", r.message},
                       {"seen_block", r.seen_block},
                       {"latest_evaluation_id", latest}});
    }
    return json_reply(200, page_json(page->total, *p, std::move(items)));
  }

  Reply rounds(const Target& t) {
    auto p = paging(t);
    if (!p.ok()) return bad(p.error());
    auto page = store::round_summaries(store_, p->limit, p->offset);
    if (!page.ok()) return store_error(page.error());
    json items = json::array();
    for (const auto& r : page->items) items.push_back(round_summary_json(r));
    return json_reply(200, page_json(page->total, *p, std::move(items)));
  }

  // The round's baseline server log. The file name is the validator worker's convention
  // (validator/worker.cpp round_dir: <logs_dir>/round-<id>/baseline.log).
  std::string baseline_log_path(int64_t round_id) const {
    if (src_.logs_root.empty()) return {};
    return (fs::path(src_.logs_root) / fmt::format("round-{}", round_id) / "baseline.log").string();
  }

  Reply round_baseline_log(const std::string& id_text, const Target& t) {
    auto id = to_int(id_text);
    if (!id) return error_reply(404, "not_found", "no such round");
    return tail(baseline_log_path(*id), src_.logs_root, t);
  }

  Reply round(const std::string& id_text) {
    auto id = to_int(id_text);
    if (!id) return error_reply(404, "not_found", "no such round");
    auto r = store::round_summary(store_, *id);
    if (!r.ok()) return store_error(r.error());
    if (!r->has_value()) return error_reply(404, "not_found", "no such round");
    json j = round_summary_json(**r);
    auto evals = store_.evaluations(*id);
    if (!evals.ok()) return store_error(evals.error());
    const UidMap uids = uids_of_round(store_, *id);
    json items = json::array();
    for (const auto& e : *evals) items.push_back(eval_summary_json(e, uids));
    j["evaluations"] = items;
    auto st = store::standings_of_round(store_, *id);
    if (!st.ok()) return store_error(st.error());
    j["standings"] = st->has_value() ? history_item_json(store_, **st) : json(nullptr);
    j["links"] = {{"baseline_log", servable(baseline_log_path(*id), src_.logs_root)
                                       ? json(fmt::format("/api/v1/rounds/{}/baseline-log", *id))
                                       : json(nullptr)}};
    return json_reply(200, j);
  }

  Reply metrics() {
    MetricsInput in;
    auto counts = store::arena_counts(store_);
    if (!counts.ok()) return store_error(counts.error());
    in.counts = std::move(*counts);
    if (auto c = store_.scan_cursor(); c.ok() && *c >= 0) in.last_scanned_block = *c;
    if (auto s = store_.latest_standings(); s.ok() && s->has_value() && (*s)->leader)
      in.leader_score = (*s)->leader->score;
    Reply r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = prometheus_text(in);
    return r;
  }

 private:
  static Reply file_error(const Error& e) {
    if (e.code == "forbidden") return error_reply(403, e.code, e.message);
    if (e.code == "too_large") return error_reply(413, e.code, e.message);
    if (e.code == "not_found") return error_reply(404, e.code, e.message);
    return error_reply(500, e.code, e.message);
  }

  const DashboardSources& src_;
  store::ArenaStore& store_;
  ReportPageCache& pages_;
};

}  // namespace

bool ReportPageCache::find(const std::string& key, std::string& html) const {
  std::lock_guard lock(mu_);
  for (const auto& [k, v] : entries_)
    if (k == key) {
      html = v;
      return true;
    }
  return false;
}

void ReportPageCache::put(const std::string& key, const std::string& html) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= kEntries) entries_.pop_front();
  entries_.emplace_back(key, html);
}

DashboardSources DashboardSources::next_to_store(const std::string& store_path) {
  fs::path dir = fs::absolute(store_path).parent_path();
  return {fs::absolute(store_path).string(), (dir / "status.json").string(),
          (dir / "live.json").string(), (dir / "validator.log").string(), (dir / "logs").string()};
}

Reply json_reply(int status, const json& body) {
  Reply r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

Reply error_reply(int status, std::string_view code, std::string_view message) {
  return json_reply(status, {{"error", {{"code", code}, {"message", message}}}});
}

Reply ReadApi::handle(const std::string& target) const {
  auto t = parse_target(target);
  if (!t.ok()) return bad(t.error());
  const std::string& path = t->path;
  constexpr std::string_view kPrefix = "/api/v1/";
  const bool metrics = path == "/metrics";
  if (!metrics && path.rfind(kPrefix, 0) != 0)
    return error_reply(404, "not_found", "no such route");
  std::vector<std::string> seg =
      metrics ? std::vector<std::string>{} : segments(std::string_view(path).substr(kPrefix.size()));
  // live.json needs no store: it answers even while the store is unreadable.
  if (seg.size() == 1 && seg[0] == "live") return live_reply(sources_);
  auto store = store::ArenaStore::open_read_only(sources_.store_path);
  if (!store.ok()) return store_error(store.error());
  Handler h(sources_, *store, *pages_);
  if (metrics) return h.metrics();
  if (seg.empty() || seg[0].empty()) return error_reply(404, "not_found", "no such route");
  const std::string& head = seg[0];
  if (seg.size() == 1 && head == "status") return h.status();
  if (seg.size() == 1 && head == "leader") return h.leader();
  if (seg.size() == 2 && head == "leader" && seg[1] == "history") return h.history(*t);
  if (seg.size() == 1 && head == "evaluations") return h.evaluations(*t);
  if (seg.size() >= 2 && head == "evaluations")
    return h.evaluation({seg.begin() + 1, seg.end()}, *t);
  if (seg.size() == 1 && head == "rounds") return h.rounds(*t);
  if (seg.size() == 1 && head == "submissions") return h.submissions(*t);
  if (seg.size() == 2 && head == "rounds") return h.round(seg[1]);
  if (seg.size() == 3 && head == "rounds" && seg[2] == "baseline-log")
    return h.round_baseline_log(seg[1], *t);
  if (seg.size() == 2 && head == "logs" && seg[1] == "validator") return h.validator_log(*t);
  return error_reply(404, "not_found", "no such route");
}

}  // namespace cacheon::dashboard
