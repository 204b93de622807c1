#!/usr/bin/env bash
# Black-box test of the real binaries: `cacheon eval` and `cacheon bench` against two
# `cacheon-testserver` processes over loopback. Checks exit codes, the JSON report, the table,
# and the one-line errors for bad usage and unreachable servers.
# Usage: cli_smoke.sh BIN_DIR
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib/start_server.sh"
BIN="$1"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

testserver() {  # VAR NAME ARGS...: a cacheon-testserver, its log under $WORK
  local var="$1" name="$2"
  shift 2
  start_server "$var" "$WORK/$name.log" "$BIN/cacheon-testserver" --port 0 "$@"
}

testserver BASE base --ttft-ms 20 --itl-ms 3 --tokens 12 --seed 5
testserver FAST fast --ttft-ms 5 --itl-ms 1 --tokens 12 --seed 5
testserver WRONG wrong --ttft-ms 5 --itl-ms 1 --tokens 12 --seed 6
[ -n "$BASE" ] && [ -n "$FAST" ] && [ -n "$WRONG" ] || fail "servers did not start"

SMALL=(--warmup 1 --prompts 3 --input-tokens 200 --output-tokens 12 --block-hash 0xabc123 --quiet)

# A faster, correct candidate passes (exit 0) with a table and a complete JSON report.
"$BIN/cacheon" eval --baseline "$BASE" --candidate "$FAST" "${SMALL[@]}" --out "$WORK/r.json" \
  >"$WORK/table.txt" || fail "eval of a faster candidate exited $?"
grep -q "verdict: PASS" "$WORK/table.txt" || fail "table lacks the verdict: $(cat "$WORK/table.txt")"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const ok = r.kind === "cacheon.eval" && r.verdict.passed === true && r.runs.length === 3 &&
    r.prompts.block_hash === "0xabc123" && r.runs[1].requests[1].tokens.length === 12 &&
    r.verdict.score > 0.3 && typeof r.provenance.git_revision === "string";
  if (!ok) { console.error(JSON.stringify(r.verdict)); process.exit(1); }
' "$WORK/r.json" || fail "report content"

# The wrong model fails (exit 1) with the first-mismatch reason, in --json mode.
set +e
"$BIN/cacheon" eval --baseline "$BASE" --candidate "$WRONG" "${SMALL[@]}" --json >"$WORK/w.json"
rc=$?
set -e
[ "$rc" = 1 ] || fail "wrong model exited $rc, want 1"
grep -q '"reason_code": "correctness_first_mismatch"' "$WORK/w.json" || fail "wrong reason"

# bench: one server, concurrency workload, exit 0.
"$BIN/cacheon" bench --server "$FAST" --workload concurrency:4 --warmup 0 --prompts 8 \
  --input-tokens 200 --output-tokens 12 --quiet >"$WORK/bench.txt" || fail "bench exited $?"
grep -q "TTFT (from send)" "$WORK/bench.txt" || fail "bench table"

# Bad usage: one line, exit 2. Unreachable server: one line, exit 3.
set +e
"$BIN/cacheon" eval --baseline "$BASE" --candidate "$FAST" --policy fastest 2>"$WORK/e1"; rc1=$?
"$BIN/cacheon" bench --server http://127.0.0.1:1 --startup-timeout 0.5 --quiet >/dev/null 2>"$WORK/e2"; rc2=$?
"$BIN/cacheon" frobnicate 2>"$WORK/e3"; rc3=$?
set -e
[ "$rc1" = 2 ] && [ "$(wc -l <"$WORK/e1")" -le 2 ] || fail "bad policy: rc $rc1: $(cat "$WORK/e1")"
[ "$rc2" = 3 ] && grep -q "did not become healthy" "$WORK/e2" || fail "unreachable: rc $rc2"
[ "$rc3" = 2 ] || fail "unknown subcommand: rc $rc3"
echo "cli smoke: OK"
