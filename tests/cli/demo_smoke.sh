#!/usr/bin/env bash
# `make demo`'s script on the already built binaries (DEMO_BUILD=0), in a temporary directory:
# it must run to the end, and what it leaves behind must tell the story the README promises.
# Checks only what does not depend on timing: the copy is a duplicate of the fast miner, the
# underpaid commit is rejected for its fee, the corrupted model fails first-mismatch, only
# correct servers hold places, the weights sum to 65535, and the dashboard's files exist.
# Usage: demo_smoke.sh BUILD_DIR
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="$(cd "$1" && pwd)"
WORK="$(mktemp -d)"
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# DEMO_DATA_OUT: run the demo there and keep it (ctest's demo_data fixture: the dashboard tests
# read a store filled by this real round).
OUT="${DEMO_DATA_OUT:-$WORK/demo}"
# Re-running starts from scratch: a previous run's directory is wiped (a foreign one is refused).
mkdir -p "$OUT"
touch "$OUT/stale" "$OUT/.cacheon-demo"

DEMO_BUILD=0 DEMO_OUT="$OUT" "$ROOT/scripts/demo.sh" "$BUILD" >"$WORK/demo.txt" 2>&1 ||
  fail "demo.sh exited $?: $(tail -n 30 "$WORK/demo.txt")"
[ ! -e "$OUT/stale" ] || fail "the previous run's files were kept"
for f in status.json live.json validator.log arena.db ledger.db validator.toml standings.txt; do
  [ -s "$OUT/$f" ] || fail "$f missing"
done
ls "$OUT"/logs/round-1/*.json >/dev/null 2>&1 || fail "no evaluation reports"

node - "$OUT" <<'EOF' || fail "status.json: see above"
const fs = require("fs"), dir = process.argv[2];
const s = JSON.parse(fs.readFileSync(dir + "/status.json", "utf8"));
const names = new Map();
for (const w of JSON.parse(fs.readFileSync(dir + "/cli/wallet-list.out", "utf8")))
  for (const h of w.hotkeys) names.set(h.address, w.name);
const sub = Object.fromEntries(s.submissions.map((x) => [names.get(x.hotkey), x]));
const ev = Object.fromEntries(s.rounds[0].evaluations.map((e) => [names.get(e.hotkey), e]));
const check = (ok, what) => { if (!ok) { console.error("FAIL:", what); process.exitCode = 1; } };
check(s.submissions.length === 6, "6 submissions");
check(s.rounds.length === 1 && s.rounds[0].state === "done", "one finished round");
check(sub.copycat?.state === "duplicate" && sub.copycat.digest === sub.chunk2048?.digest,
      "copycat is a duplicate of chunk2048");
check(sub.underpaid?.state === "rejected" && sub.underpaid.reason === "payment_too_small",
      "underpaid rejected for its fee: " + JSON.stringify(sub.underpaid));
check(Object.keys(ev).sort().join() === "chunk2048,chunk64,corrupt,same-as-baseline",
      "the four paid originals were evaluated: " + Object.keys(ev));
for (const n of ["same-as-baseline", "chunk64", "chunk2048"])
  check(ev[n]?.result?.passed === true, n + " passed: " + JSON.stringify(ev[n]?.result?.message));
check(ev.corrupt?.result?.reason_code === "correctness_first_mismatch" &&
      ev.corrupt.result.blame === "candidate", "corrupt fails first-mismatch");
const placed = [s.leader, s.runner_up].filter(Boolean).map((p) => names.get(p.hotkey));
// A speed-up inside the baseline's own noise counts as 0 (by design): on a machine too busy to
// tell the servers apart the speed claims are not checked here (ValidatorE2E checks the ranking
// with wide gaps); everything else above and below does not depend on timing.
if (/within the noise floor/.test(ev.chunk2048?.result?.message ?? "")) {
  console.error("NOTE: the machine was too noisy to check the speed claims: " +
                ev.chunk2048.result.message);
} else {
  check(ev.chunk2048?.result?.score > 0, "the whole-prompt prefill is faster than the baseline");
  check(placed.includes("chunk2048") || placed.includes("chunk64"),
        "a faster miner placed: " + placed);
}
check(!placed.some((n) => ["corrupt", "copycat", "underpaid"].includes(n)), "no bad miner placed");
const w = s.weights[0];
check(w?.state === "set" && w.weights.reduce((a, x) => a + x.weight, 0) === 65535,
      "weights set, summing to 65535: " + JSON.stringify(w));
EOF
# A directory the script did not make is refused, untouched.
mkdir -p "$WORK/foreign"
touch "$WORK/foreign/keep"
if DEMO_BUILD=0 DEMO_OUT="$WORK/foreign" "$ROOT/scripts/demo.sh" "$BUILD" >"$WORK/foreign.txt" 2>&1; then
  fail "a foreign DEMO_OUT was accepted"
fi
[ -e "$WORK/foreign/keep" ] || fail "a foreign DEMO_OUT was wiped"
# The table says what status.json says (a leader only when one cleared the noise floor).
if node -e 'process.exit(JSON.parse(require("fs").readFileSync(process.argv[1])).leader ? 0 : 1)' \
    "$OUT/status.json"; then
  grep -q "LEADER" "$OUT/standings.txt" || fail "no leader in the table"
else
  grep -q "no place" "$OUT/standings.txt" || fail "no 'no place' row in a table without a leader"
fi
for outcome in DUPLICATE DISQUALIFIED REJECTED; do
  grep -q "$outcome" "$OUT/standings.txt" || fail "no $outcome row in the table"
done
echo "demo_smoke: ok"
