#!/usr/bin/env bash
# What the container runner's relay (tools/relay/relay.c) adds to what the harness measures: the
# calibrated testserver (known TTFT and ITL) measured by `cacheon bench` directly and through the
# relay on loopback, alternating, REPS times; prints the medians of the per-run p50s and the
# differences (relay - direct). The relay runs on the host here, the same binary as in its image.
# Usage: bench/relay_overhead.sh [BUILD_DIR] [REPS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
REPS="${2:-5}"
WORK="$(mktemp -d)"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

gcc -static -O2 -o "$WORK/relay" "$ROOT/tools/relay/relay.c" -lpthread
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TS_PORT="$(port)"; RELAY_PORT="$(port)"
"$BUILD/src/cacheon-testserver" --port "$TS_PORT" --ttft-ms 50 --itl-ms 10 --tokens 64 \
  >"$WORK/ts.log" 2>&1 & PIDS+=($!)
"$WORK/relay" "$RELAY_PORT" 127.0.0.1 "$TS_PORT" >"$WORK/relay.log" 2>&1 & PIDS+=($!)
sleep 0.5

for rep in $(seq "$REPS"); do
  for side in direct relay; do
    p=$TS_PORT; [ "$side" = relay ] && p=$RELAY_PORT
    "$BUILD/src/cacheon" bench --server "http://127.0.0.1:$p" --prompts 20 --warmup 2 \
      --input-tokens 200 --output-tokens 64 --no-trim --block-hash 00ff --json \
      >"$WORK/$side-$rep.json" 2>/dev/null
  done
done

python3 - "$WORK" "$REPS" <<'PY'
import json, statistics, sys
work, reps = sys.argv[1], int(sys.argv[2])
def p50s(side, metric):
    out = []
    for r in range(1, reps + 1):
        m = json.load(open(f"{work}/{side}-{r}.json"))["run"]["metrics"]["all"]
        out.append(m[metric]["p50"])
    return statistics.median(out)
print(f"{'metric (ms, median of run p50s)':34} {'direct':>9} {'relay':>9} {'relay-direct':>13}")
for metric in ("ttft_ms", "itl_ms", "e2e_ms"):
    d, r = p50s("direct", metric), p50s("relay", metric)
    print(f"{metric:34} {d:9.3f} {r:9.3f} {r - d:13.3f}")
PY
