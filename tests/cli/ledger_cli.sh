#!/usr/bin/env bash
# Black-box test of `cacheon ledger ...` and `cacheon commit` on the real binary: a chain is
# created, wallets are made (private files, no silent overwrite), funded and registered; a
# miner commits, re-runs the same commit, retries after paying by hand and with --proof, and
# never pays twice; commit refuses to pay for an unregistered hotkey; the chain verifies.
# Usage: ledger_cli.sh BIN_DIR
set -euo pipefail
BIN="$1"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export CACHEON_HOME="$WORK/home"
export CACHEON_LEDGER_DB="$WORK/ledger.db"
C="$BIN/cacheon"
# jget EXPR: reads JSON on stdin, prints the JS expression over it (as `j`).
jget() {
  node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
           console.log(eval(process.argv[1]))' "$1"
}
# expect_exit CODE CMD...: runs CMD, fails unless it exits with CODE; its stderr is in $WORK/err.
expect_exit() {
  local want="$1" got=0
  shift
  "$@" >"$WORK/out" 2>"$WORK/err" || got=$?
  [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want: $(cat "$WORK/err")"
}
balance() { "$C" ledger balance --wallet "$1" --json | jget 'j.balance_tao'; }
D1="sha256:$(printf '1%.0s' {1..64})"
D2="sha256:$(printf '2%.0s' {1..64})"
D3="sha256:$(printf '3%.0s' {1..64})"
IMG=ghcr.io/miner/server:v1

"$C" ledger --help >/dev/null || fail "ledger --help"
"$C" commit --help | grep -q -- "--proof" || fail "commit --help lacks --proof"

# A chain with blocks on demand; a second init refuses to touch it.
"$C" ledger init --block-time on-demand --max-uids 8 --json >"$WORK/init.json" || fail "init"
[ "$(jget 'j.block_time' <"$WORK/init.json")" = on-demand ] || fail "init json"
expect_exit 1 "$C" ledger init
grep -q ledger_exists "$WORK/err" || fail "second init: $(cat "$WORK/err")"

# Wallets: private key files, a hotkey added to an existing wallet, no overwrite, strict names.
"$C" ledger wallet create --name arena >/dev/null
"$C" ledger wallet create --name m1 --hotkey h1 >/dev/null
"$C" ledger wallet create --name m2 >/dev/null
"$C" ledger wallet create --name m2 --hotkey h2 --json >"$WORK/m2.json"
[ "$(jget 'j.coldkey_created' <"$WORK/m2.json")" = false ] || fail "hotkey add recreated coldkey"
[ "$(stat -c %a "$CACHEON_HOME/wallets/m1/coldkey")" = 600 ] || fail "coldkey mode"
[ "$(stat -c %a "$CACHEON_HOME/wallets/m1/hotkeys/h1")" = 600 ] || fail "hotkey mode"
expect_exit 1 "$C" ledger wallet create --name m1 --hotkey h1
grep -q key_exists "$WORK/err" || fail "overwrite: $(cat "$WORK/err")"
expect_exit 2 "$C" ledger wallet create --name ../evil
[ "$("$C" ledger wallet list --json | jget 'j.length')" = 3 ] || fail "wallet list"
ARENA="$("$C" ledger wallet list --json | jget 'j.find(w => w.name === "arena").coldkey')"
H1="$("$C" ledger wallet list --json | jget 'j.find(w => w.name === "m1").hotkeys[0].address')"

# Funding, registration.
"$C" ledger fund --wallet m1 --amount 10 >/dev/null
"$C" ledger fund --wallet m2 --amount 1 >/dev/null
expect_exit 2 "$C" ledger fund --wallet m1 --amount 1.5x
"$C" ledger register --wallet m1 --hotkey h1 --json >"$WORK/reg.json"
[ "$(jget 'j.uid' <"$WORK/reg.json")" = 0 ] || fail "uid"
"$C" ledger produce-block >/dev/null
[ "$(balance m1)" = 10 ] || fail "m1 funded: $(balance m1)"
[ "$("$C" ledger metagraph --json | jget 'j.neurons[0].hotkey')" = "$H1" ] || fail "metagraph"

COMMIT=("$C" commit --image "$IMG" --fee 0.1 --arena-account arena --json)

# An unregistered hotkey: refused before paying.
expect_exit 1 "${COMMIT[@]}" --digest "$D1" --wallet m2 --hotkey h2
grep -q not_registered "$WORK/err" || fail "unregistered: $(cat "$WORK/err")"
"$C" ledger produce-block >/dev/null
[ "$(balance m2)" = 1 ] || fail "m2 paid without registration: $(balance m2)"
# Bad input: refused before paying.
expect_exit 2 "${COMMIT[@]}" --digest sha256:abc --wallet m1 --hotkey h1

# First commit pays; running it again pays nothing and commits nothing new.
"${COMMIT[@]}" --digest "$D1" --wallet m1 --hotkey h1 >"$WORK/c1.json" 2>/dev/null
[ "$(jget 'j.paid_now' <"$WORK/c1.json")" = true ] || fail "first commit did not pay"
P1="$(jget 'j.proof' <"$WORK/c1.json")"
"$C" ledger produce-block >/dev/null
"${COMMIT[@]}" --digest "$D1" --wallet m1 --hotkey h1 >"$WORK/c1b.json"
[ "$(jget 'j.paid_now' <"$WORK/c1b.json")" = false ] || fail "re-run paid again"
[ "$(jget 'j.already_committed' <"$WORK/c1b.json")" = true ] || fail "re-run committed again"
[ "$(jget 'j.proof' <"$WORK/c1b.json")" = "$P1" ] || fail "re-run proof"
"$C" ledger produce-block >/dev/null
[ "$(balance m1)" = 9.9 ] || fail "after one commit: $(balance m1)"
[ "$("$C" ledger balance --wallet arena --json | jget 'j.balance_tao')" = 0.1 ] || fail "arena"

# A payment made but never committed (a commit that died after paying) is found and reused.
REMARK2="cacheon:$H1:$D2"
"$C" ledger transfer --wallet m1 --to "$ARENA" --amount 0.1 --remark "$REMARK2" >/dev/null
"${COMMIT[@]}" --digest "$D2" --wallet m1 --hotkey h1 >"$WORK/c2.json"
[ "$(jget 'j.paid_now' <"$WORK/c2.json")" = false ] || fail "retry paid twice"

# --proof: the transfer id of an earlier payment; a proof for another digest is refused unpaid.
"$C" ledger transfer --wallet m1 --to arena --amount 0.1 --remark "cacheon:$H1:$D3" --json \
  >"$WORK/t3.json"
P3="$(jget 'j.id' <"$WORK/t3.json")"
"$C" ledger produce-block >/dev/null
expect_exit 1 "${COMMIT[@]}" --digest "$D1" --wallet m1 --hotkey h1 --proof "$P3"
grep -q payment_wrong_remark "$WORK/err" || fail "wrong proof: $(cat "$WORK/err")"
"${COMMIT[@]}" --digest "$D3" --wallet m1 --hotkey h1 --proof "$P3" >"$WORK/c3.json"
[ "$(jget 'j.paid_now' <"$WORK/c3.json")" = false ] || fail "--proof paid"
[ "$(jget 'j.proof' <"$WORK/c3.json")" = "$P3" ] || fail "--proof not used"
"$C" ledger produce-block >/dev/null
[ "$(balance m1)" = 9.7 ] || fail "three submissions, three fees: $(balance m1)"

# Going back to D1: its proof already paid for an earlier submission, so a new fee is paid.
"${COMMIT[@]}" --digest "$D1" --wallet m1 --hotkey h1 >"$WORK/c4.json" 2>/dev/null
[ "$(jget 'j.paid_now' <"$WORK/c4.json")" = true ] || fail "a spent proof was reused"
"$C" ledger produce-block >/dev/null
[ "$(balance m1)" = 9.6 ] || fail "after re-commit: $(balance m1)"

# Inspection.
"$C" ledger commitments --json >"$WORK/cs.json"
[ "$(jget 'j.commitments.length' <"$WORK/cs.json")" = 4 ] || fail "commitments"
[ "$(jget 'JSON.parse(j.commitments[0].data).payment_proof' <"$WORK/cs.json")" = "$P1" ] ||
  fail "commitment payload"
"$C" ledger commitments | grep -q "$H1" || fail "commitments table"
[ "$("$C" ledger blocks --last 3 --json | jget 'j.length')" = 3 ] || fail "blocks"
"$C" ledger blocks | grep -q transfer || fail "blocks table"
[ "$("$C" ledger weights --json | jget 'j.weights.length')" = 0 ] || fail "weights"
"$C" ledger verify >/dev/null || fail "verify"
"$C" ledger info >/dev/null || fail "info"

# A clock chain: blocks come from time, produce-block is refused.
"$C" ledger init --db "$WORK/clock.db" --block-time 100ms >/dev/null
expect_exit 1 "$C" ledger produce-block --db "$WORK/clock.db"
grep -q not_on_demand "$WORK/err" || fail "clock produce-block: $(cat "$WORK/err")"
sleep 0.35
[ "$("$C" ledger info --db "$WORK/clock.db" --json | jget 'j.head.number')" -ge 3 ] ||
  fail "clock chain did not advance"

# An instant chain: each write is sealed at once.
"$C" ledger init --db "$WORK/instant.db" --block-time instant >/dev/null
"$C" ledger fund --db "$WORK/instant.db" --wallet m2 --amount 2 >/dev/null
INSTANT_BALANCE="$("$C" ledger balance --db "$WORK/instant.db" --wallet m2 --json)"
[ "$(jget 'j.balance_tao' <<<"$INSTANT_BALANCE")" = 2 ] || fail "instant chain"
# Two processes writing with one key at once: every transfer lands once (no nonce reuse).
burst() {
  for _ in 1 2 3 4 5; do
    "$C" ledger transfer --db "$WORK/instant.db" --wallet m2 --to arena --amount 0.01 >/dev/null
  done
}
burst & B1=$!
burst & B2=$!
wait "$B1" || fail "burst 1"
wait "$B2" || fail "burst 2"
INSTANT_BALANCE="$("$C" ledger balance --db "$WORK/instant.db" --wallet m2 --json)"
[ "$(jget 'j.balance_tao' <<<"$INSTANT_BALANCE")" = 1.9 ] || fail "concurrent transfers"
"$C" ledger verify --db "$WORK/instant.db" >/dev/null || fail "verify after concurrent writes"
expect_exit 1 "$C" ledger balance --db "$WORK/missing.db" --wallet m2
echo "ledger_cli: ok"
