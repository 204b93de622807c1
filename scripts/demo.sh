#!/usr/bin/env bash
# `make demo`: the most complete real flow that exists today.
#
# Until the reference engine (cacheon-engine) and the arena land, the servers here are the
# calibrated SSE source (cacheon-testserver): a measuring instrument with scripted timing, NOT an
# LLM. The harness, prompts, gates, scoring, noise bracketing and reports are the real ones.
#
# Three evaluations against one baseline: a faster correct server (passes, scores), a "different
# model" (fails the first-mismatch gate) and a server that holds tokens back and flushes them in
# one burst (earns nothing under the e2e policy).
set -euo pipefail
source "$(dirname "$0")/lib/start_server.sh"
BUILD="${1:-build}"
BIN="$BUILD/src"
OUT="${DEMO_OUT:-$BUILD/demo}"
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

testserver() {  # VAR NAME ARGS...: a cacheon-testserver, its log under $OUT
  local var="$1" name="$2"
  shift 2
  start_server "$var" "$OUT/$name.log" "$BIN/cacheon-testserver" --port 0 "$@"
}

echo "== starting servers (cacheon-testserver, the calibrated instrument)"
testserver BASELINE baseline --ttft-ms 60 --itl-ms 6 --tokens 200 --seed 42
testserver FASTER faster --ttft-ms 30 --itl-ms 4 --tokens 200 --seed 42
testserver WRONG wrong-model --ttft-ms 20 --itl-ms 3 --tokens 200 --seed 43
testserver FLUSH burst --ttft-ms 60 --itl-ms 6 --tokens 200 --seed 42 --fault buffer-flush
echo "   baseline $BASELINE | faster $FASTER | wrong-model $WRONG | burst $FLUSH"

BLOCK_HASH=0x5eed000000000000000000000000000000000000000000000000000000000001
COMMON=(--baseline "$BASELINE" --block-hash "$BLOCK_HASH" --warmup 2 --prompts 10
        --input-tokens 6000 --output-tokens 128)

for name in faster wrong-model burst; do
  case $name in
    faster) URL=$FASTER ;;
    wrong-model) URL=$WRONG ;;
    burst) URL=$FLUSH ;;
  esac
  echo
  echo "== cacheon eval: $name (B, C, B' on 12 prompts drawn from the built-in corpus)"
  set +e
  "$BIN/cacheon" eval "${COMMON[@]}" --candidate "$URL" --out "$OUT/eval-$name.json"
  rc=$?
  set -e
  echo "   exit code $rc; full report: $OUT/eval-$name.json"
done

echo
echo "== cacheon bench: the faster server at concurrency 8"
"$BIN/cacheon" bench --server "$FASTER" --workload concurrency:8 --warmup 0 --prompts 24 \
  --input-tokens 2000 --output-tokens 128 --block-hash "$BLOCK_HASH" --out "$OUT/bench.json"
echo
echo "demo done: reports in $OUT"
