// The dashboard's read API over loopback against a store filled by a real validator round (the
// demo's data, made by the demo_smoke test). Every answer is compared with what the validator
// wrote itself: status.json (its own JSON of the same store), the per-evaluation report and log
// files, live.json and validator.log. Also: /metrics, ETag -> 304, the per-client rate limit,
// 405 and 404 over real HTTP.
// Usage: node dashboard_api.mjs CACHEON_BIN DEMO_DIR
import fs from "node:fs";
import path from "node:path";
import { startServer } from "./spawn_server.mjs";

const [bin, demo] = process.argv.slice(2);
if (!bin || !demo) {
  console.error("usage: node dashboard_api.mjs CACHEON_BIN DEMO_DIR");
  process.exit(2);
}
let failures = 0;
const check = (ok, what) => {
  if (!ok) {
    failures++;
    console.error("FAIL:", what);
  }
};
const status = JSON.parse(fs.readFileSync(path.join(demo, "status.json"), "utf8"));
const servers = [];

async function getJson(base, route, want = 200) {
  const r = await fetch(base + route);
  check(r.status === want, `${route}: status ${r.status}, want ${want}`);
  return r.json();
}

try {
  const { child, url } = await startServer(
    bin, ["dashboard", "--store", path.join(demo, "arena.db"), "--listen", "127.0.0.1:0"],
    { name: "dashboard" });
  servers.push(child);
  const base = url.replace(/\/$/, "");

  // Status and the leader agree with the validator's own status.json.
  const s = await getJson(base, "/api/v1/status");
  const key = (x) => (x ? `${x.hotkey}@${x.commit_block}` : null);
  check(key(s.leader) === key(status.leader), `leader ${key(s.leader)} vs ${key(status.leader)}`);
  check(key(s.runner_up) === key(status.runner_up), "runner-up agrees with status.json");
  if (status.leader) {
    check(s.leader.uid === status.leader.uid && s.leader.score === status.leader.score,
          "leader uid and score");
    check(Number.isInteger(s.leader.evaluation_id), "the leader links its evaluation");
  }
  const byState = (st) => status.submissions.filter((x) => x.state === st).length;
  check(s.counts.submissions === status.submissions.length, "submission count");
  check(s.counts.duplicates === byState("duplicate"), "duplicate count");
  check(s.counts.rejected === byState("rejected"), "rejected count");
  const evals = status.rounds.flatMap((r) => r.evaluations.map((e) => ({ ...e, round: r.id })));
  check(s.counts.evaluations === evals.length, `evaluations ${s.counts.evaluations} vs ${evals.length}`);
  check(s.counts.disqualified ===
          evals.filter((e) => e.result && e.result.decided && !e.result.passed &&
                              e.result.blame === "candidate").length,
        "disqualified count");
  check(s.last_scanned_block === status.scanned_to_block, "last scanned block");
  check(s.validator?.hotkey === status.validator, "validator hotkey from status.json");
  check(s.live.available === true && s.live.active === false, "live.json says idle after the round");
  check(typeof s.last_evaluation_ms === "number" &&
          Math.abs(s.last_evaluation_ms - status.updated_ms) < 3600e3,
        "last evaluation time is recent");

  // Every evaluation: verdict fields, per-prompt rows, logs and reports equal the files.
  const list = await getJson(base, "/api/v1/evaluations?limit=500");
  check(list.total === evals.length && list.items.length === evals.length, "evaluation list size");
  for (const e of evals) {
    const item = list.items.find((x) => x.hotkey === e.hotkey && x.commit_block === e.commit_block &&
                                        x.round === e.round);
    check(item, `evaluation of ${e.hotkey} listed`);
    if (!item) continue;
    const d = await getJson(base, `/api/v1/evaluations/${item.id}`);
    for (const f of ["passed", "score", "reason_code", "blame", "message", "decided"])
      check(d[f] === e.result[f], `${e.hotkey} ${f}: ${d[f]} vs ${e.result[f]}`);
    check(d.role === e.role && d.image === e.image && d.digest === e.digest, `${e.hotkey} identity`);
    check(typeof d.reason_text === "string" && d.reason_text.length > 20, "reason in words");
    check(d.prompts.length === e.result.prompts.length, `${e.hotkey} prompt count`);
    e.result.prompts.forEach((p, i) => {
      const q = d.prompts[i] ?? {};
      const same = q.index === p.prompt && q.baseline_tokens === p.baseline_tokens &&
        q.candidate_tokens === p.candidate_tokens && q.baseline_e2e_ms === p.baseline_e2e_ms &&
        q.candidate_e2e_ms === p.candidate_e2e_ms && q.candidate_ttft_ms === p.candidate_ttft_ms &&
        q.improvement === p.improvement && q.gates_passed === p.gates_passed && q.note === p.note;
      check(same, `${e.hotkey} prompt ${i}: ${JSON.stringify(q)} vs ${JSON.stringify(p)}`);
    });
    if (e.result.logs && fs.existsSync(e.result.logs)) check(d.links.logs, `${e.hotkey} log link`);
    if (e.result.logs && fs.existsSync(e.result.logs) && d.links.logs) {
      const r = await fetch(base + d.links.logs);
      const text = await r.text();
      const file = fs.readFileSync(e.result.logs, "utf8");
      check(r.headers.get("content-type").startsWith("text/plain"), "logs are text/plain");
      check(file.length <= 1 << 20 ? text === file : file.endsWith(text),
            `${e.hotkey} log equals the file`);
    } else if (!(e.result.logs && fs.existsSync(e.result.logs))) {
      check(d.links.logs === null, "no log link without a log file");
    }
    if (e.result.report && fs.existsSync(e.result.report)) check(d.links.report, "report link");
    if (e.result.report && fs.existsSync(e.result.report) && d.links.report) {
      const rep = await getJson(base, d.links.report);
      const file = JSON.parse(fs.readFileSync(e.result.report, "utf8"));
      check(JSON.stringify(rep) === JSON.stringify(file), `${e.hotkey} report equals the file`);
      const html = await fetch(base + d.links.report_html);
      check(html.status === 200 && html.headers.get("content-type").startsWith("text/html"),
            "report.html is HTML");
      check((html.headers.get("content-security-policy") ?? "").includes("default-src 'none'"),
            "report.html cannot run scripts");
    }
  }

  // Sorting by score really sorts (desc, nulls last).
  const sorted = await getJson(base, "/api/v1/evaluations?sort=score&order=desc&limit=500");
  const scores = sorted.items.map((x) => x.score).filter((x) => x !== null);
  check(scores.every((x, i) => i === 0 || scores[i - 1] >= x), "sort=score desc");

  // Rounds, history.
  const rounds = await getJson(base, "/api/v1/rounds");
  check(rounds.total === status.rounds.length, "round count");
  const r1 = await getJson(base, `/api/v1/rounds/${status.rounds[0].id}`);
  check(r1.state === status.rounds[0].state && r1.block_hash === status.rounds[0].block_hash,
        "round state and block hash");
  check(r1.evaluations.length === status.rounds[0].evaluations.length, "round participants");
  check(JSON.stringify(r1.standings?.events) === JSON.stringify(status.standings_detail?.events),
        "the round's standings events equal status.json's");
  const baselineLog = path.join(demo, "logs", `round-${status.rounds[0].id}`, "baseline.log");
  check(fs.existsSync(baselineLog) && r1.links.baseline_log, "the round links its baseline log");
  if (r1.links.baseline_log) {
    const text = await (await fetch(base + r1.links.baseline_log)).text();
    const file = fs.readFileSync(baselineLog, "utf8");
    check(file.length <= 1 << 20 ? text === file : file.endsWith(text), "baseline log equals the file");
  }
  const hist = await getJson(base, "/api/v1/leader/history");
  check(hist.items.length === (status.standings_history ?? []).length, "history length");

  // The validator's own log.
  const vlog = await fetch(base + "/api/v1/logs/validator");
  const vtext = await vlog.text();
  check(vlog.status === 200 && /round 1 planned/.test(vtext), "validator log: " + vtext.slice(0, 200));

  // /metrics agrees with the store.
  const metrics = await (await fetch(base + "/metrics")).text();
  const sample = (line) => metrics.split("\n").find((l) => l.startsWith(line + " "));
  check(sample('cacheon_evaluations{state="done"}') === `cacheon_evaluations{state="done"} ${evals.length}`,
        "metrics: done evaluations");
  check(sample('cacheon_submissions{state="duplicate"}')?.endsWith(` ${byState("duplicate")}`),
        "metrics: duplicates");
  check(/^cacheon_dashboard_responses_total\{code="200"\} \d+$/m.test(metrics), "metrics: responses");

  // HTTP policy on the wire: ETag -> 304, GET only, unknown routes.
  const first = await fetch(base + "/api/v1/rounds");
  const etag = first.headers.get("etag");
  await first.text();
  const again = await fetch(base + "/api/v1/rounds", { headers: { "If-None-Match": etag } });
  check(again.status === 304, "If-None-Match gives 304");
  const post = await fetch(base + "/api/v1/status", { method: "POST", body: "x" });
  check(post.status === 405 && post.headers.get("allow") === "GET", "POST is 405");
  check((await fetch(base + "/api/v1/nope")).status === 404, "unknown route 404");
  check((await fetch(base + "/api/v1/evaluations?limit=9999")).status === 400, "bad limit 400");

  // A second instance with a tight limit: the burst passes, the next request is 429.
  const tight = await startServer(
    bin, ["dashboard", "--store", path.join(demo, "arena.db"), "--listen", "127.0.0.1:0",
          "--rate", "0.5", "--burst", "5"], { name: "dashboard (tight)" });
  servers.push(tight.child);
  const codes = [];
  for (let i = 0; i < 6; i++) {
    const r = await fetch(tight.url + "api/v1/live");
    codes.push(r.status);
    if (r.status === 429) check(Number(r.headers.get("retry-after")) >= 1, "Retry-After");
    await r.arrayBuffer();
  }
  check(codes.slice(0, 5).every((c) => c === 200) && codes[5] === 429, "rate limit: " + codes);
} catch (e) {
  failures++;
  console.error("FAIL:", e.stack ?? e);
} finally {
  for (const c of servers) c.kill("SIGTERM");
}
if (failures) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
console.log("dashboard API: every check passed");
