#!/usr/bin/env bash
# The engine's CPU speed next to its peer (HF transformers + torch, fp32 on the CPU), both on the
# same machine, same model files, same thread count, one after the other. Written for the GPU box
# (it has torch and transformers; the GPU is not used), where our binaries run from the engine
# image's rootfs (scripts/build-engine-image.sh --rootfs-only) through its own loader.
#
#   tools/device_cpu_peer.sh ROOTFS TOKENIZER_JSON OUT_DIR [THREADS] [REPEATS]
set -euo pipefail
ROOT=$1 TOK=$2 OUT=$3 THREADS=${4:-8} REPEATS=${5:-3}
# OpenBLAS 0.3.21 does not recognise some virtualised Xeons and falls back to SSE3 (Prescott)
# kernels: pass OPENBLAS_CORETYPE (e.g. Cooperlake) in the environment to pick the right ones.
run() { "$ROOT/lib64/ld-linux-x86-64.so.2" --library-path "$ROOT/lib/x86_64-linux-gnu" "$@"; }
mkdir -p "$OUT"
{ echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"; nproc; lscpu | grep -E 'Model name|Thread|Core|Socket|L3' || true; python3 -c \
  'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'; } \
  | tee "$OUT/machine.txt"
for shape in tiny qwen2.5-0.5b; do
  model=/tmp/model-$shape
  [ -d "$model" ] || run "$ROOT/usr/local/bin/cacheon-engine" make-model --shape "$shape" --seed 0 \
    --tokenizer "$TOK" --out "$model" >/dev/null
  echo "== $shape: cacheon-engine (engine_speed), $THREADS threads"
  run "$ROOT/usr/local/bin/engine_speed" --model "$model" --threads "$THREADS" --repeats "$REPEATS" \
    --json "$OUT/engine-$shape.json" 2>"$OUT/engine-$shape.err" | tee "$OUT/engine-$shape.txt"
  echo "== $shape: HF transformers (hf_cpu_speed.py), $THREADS threads"
  PYTHONUNBUFFERED=1 python3 tools/hf_cpu_speed.py --model "$model" --threads "$THREADS" \
    --repeats "$REPEATS" --json "$OUT/hf-$shape.json" 2>"$OUT/hf-$shape.err" | tee "$OUT/hf-$shape.txt"
done
