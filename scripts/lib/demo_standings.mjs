// The demo's closing table (scripts/demo.sh): every submission with its outcome and the reason,
// then the weights the validator set on the ledger. Reads only what the demo leaves behind:
// status.json (the dashboard's document) and the ledger CLI's JSON under cli/.
// Usage: node demo_standings.mjs DEMO_DIR
import { readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
const load = (p) => JSON.parse(readFileSync(join(dir, p), "utf8"));
const status = load("status.json");
const wallets = load("cli/wallet-list.out");
const metagraph = load("cli/ledger-metagraph.out");
const chainWeights = load("cli/ledger-weights.out");

const nameOf = new Map();  // hotkey -> wallet name
for (const w of wallets) for (const h of w.hotkeys) nameOf.set(h.address, w.name);
const uidOf = new Map(metagraph.neurons.map((n) => [n.hotkey, n.uid]));
const who = (hotkey) => nameOf.get(hotkey) ?? hotkey.slice(0, 12) + "..";
const same = (a, s) => a && a.hotkey === s.hotkey && a.commit_block === s.commit_block;

const round = status.rounds?.[0];
const evals = new Map((round?.evaluations ?? []).map((e) => [`${e.hotkey}@${e.commit_block}`, e]));
const events = status.standings_detail?.events ?? [];
// The standings' word on a submission: its leader or runner-up decision if it has one, else the
// per-participant event (eligible, no_speedup, disqualified, ...).
const DECISIONS = ["crowned", "defended", "replaced", "runner_up_set", "runner_up_kept"];
const eventOf = (s) => {
  const mine = events.filter((e) => e.hotkey === s.hotkey && e.commit_block === s.commit_block);
  return mine.find((e) => DECISIONS.includes(e.code)) ?? mine[0];
};
// Whose content a duplicate copied: the earliest other submission with the same digest.
const ownerOf = (s) => status.submissions.find((o) => o.digest === s.digest &&
  o.hotkey !== s.hotkey && o.commit_block <= s.commit_block);

const rows = [];
const reasons = [];
for (const s of status.submissions) {
  const r = evals.get(`${s.hotkey}@${s.commit_block}`)?.result;
  const ev = eventOf(s);
  let outcome = s.state, code = s.reason || "", why = s.message || "";
  if (same(status.leader, s)) outcome = "LEADER";
  else if (same(status.runner_up, s)) outcome = "RUNNER-UP";
  else if (s.state === "duplicate") outcome = "DUPLICATE";
  else if (s.state === "rejected") outcome = "REJECTED";
  else if (r && r.decided && !r.passed) outcome = "DISQUALIFIED";
  else if (r && r.passed) outcome = "no place";
  if (s.state === "duplicate") {
    const o = ownerOf(s);
    if (o) why = `same digest as ${who(o.hotkey)}'s, committed earlier (block ${o.commit_block})`;
  }
  if (r) {
    code = !r.passed ? r.reason_code : ev?.code ?? r.reason_code;
    why = !r.passed || !ev ? r.message : `${ev.message}; ${r.message}`;
  }
  rows.push([who(s.hotkey), String(uidOf.get(s.hotkey) ?? "-"), String(s.commit_block),
             `${s.image}@${s.digest.slice(7, 19)}..`, outcome, r ? r.score.toFixed(4) : "-", code]);
  if (why) reasons.push(`  ${who(s.hotkey)}: ${why}`);
}

const table = (head, body, right = []) => {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r) => "  " + r.map((c, i) => (right.includes(i) ? c.padStart(w[i]) : c.padEnd(w[i])))
    .join("  ");
  console.log(line(head).trimEnd());
  for (const r of body) console.log(line(r).trimEnd());
};

const about = round ? `round ${round.id} at block ${round.block} (its hash ` +
  `${round.block_hash.slice(0, 14)}.. seeds the prompts), ${round.state}` : "no round";
console.log(`${rows.length} submissions; ${about}.`);
console.log("Score: the e2e speed-up over the baseline, median over the prompts (0.25 = 25% faster).");
table(["miner", "uid", "block", "image@digest", "outcome", "score", "reason"], rows, [1, 2, 5]);
console.log("\nWhy:");
for (const r of reasons) console.log(r);

console.log("");
const mine = chainWeights.weights?.find((w) => w.validator === status.validator);
if (!mine) {
  console.log("Weights: none set on the ledger.");
} else {
  const total = mine.weights.reduce((a, x) => a + x.weight, 0);
  const holder = new Map(metagraph.neurons.map((n) => [n.uid, n.hotkey]));
  // UID 0 is the burn UID of this arena (the owner's): shown even when it gets nothing.
  const byUid = new Map(mine.weights.map((x) => [x.uid, x.weight]));
  if (!byUid.has(0)) byUid.set(0, 0);
  const body = [...byUid.entries()].sort((a, b) => a[0] - b[0]).map(([uid, weight]) => {
    const hk = holder.get(uid);
    const name = hk ? who(hk) : "(empty)";
    return [String(uid), uid === 0 ? `${name} (burn)` : name, String(weight),
            (100 * weight / total).toFixed(2) + "%"];
  });
  console.log(`Weights the validator set on the ledger at block ${mine.block} (u16, sum ${total}): ` +
    "leader 80% and runner-up 20% of a pool of min(1, leader score / 0.10), the rest burnt:");
  table(["uid", "holder", "weight", "share"], body, [0, 2, 3]);
}
