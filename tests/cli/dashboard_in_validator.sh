#!/usr/bin/env bash
# The dashboard served by the validator itself ([dashboard] listen): a copy of the demo's arena
# (ctest fixture demo_data) with `listen = "127.0.0.1:0"` appended to its config; the running
# validator prints the address, serves the API from its own store and files, and stops on SIGTERM.
# Usage: dashboard_in_validator.sh BIN_DIR DEMO_DIR
set -euo pipefail
BIN="$1"
DEMO="$2"
WORK="$(mktemp -d)"
PID=""
cleanup() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$WORK/err" ] && tail -n 20 "$WORK/err" >&2; exit 1; }

[ -f "$DEMO/validator.toml" ] || fail "no demo data in $DEMO (the demo_smoke test makes it)"
cp -a "$DEMO" "$WORK/demo"
printf '\n[dashboard]\nlisten = "127.0.0.1:0"\nburst = 100\n' >>"$WORK/demo/validator.toml"
"$BIN/cacheon" validator --config "$WORK/demo/validator.toml" >"$WORK/out" 2>"$WORK/err" &
PID=$!
URL=""
for _ in $(seq 1 150); do
  URL="$(sed -n 's/.*dashboard: listening on \(http:[^ ]*\).*/\1/p' "$WORK/err" | head -n 1)"
  [ -n "$URL" ] && break
  kill -0 "$PID" 2>/dev/null || fail "the validator exited before serving"
  sleep 0.2
done
[ -n "$URL" ] || fail "no 'dashboard: listening on' line within 30 s"

node - "$URL" "$WORK/demo/status.json" <<'JS' || fail "the API did not answer from the validator's store"
const [url, statusFile] = process.argv.slice(2);
const status = JSON.parse(require("fs").readFileSync(statusFile, "utf8"));
(async () => {
  const s = await (await fetch(url + "api/v1/status")).json();
  const key = (x) => (x ? `${x.hotkey}@${x.commit_block}` : null);
  if (key(s.leader) !== key(status.leader)) throw new Error("leader " + key(s.leader));
  if (s.validator?.hotkey !== status.validator) throw new Error("validator " + s.validator?.hotkey);
  if (s.counts.submissions !== status.submissions.length) throw new Error("submission count");
  const page = await fetch(url);
  if (page.status !== 200 || !(await page.text()).includes("<html")) throw new Error("web UI");
  const live = await (await fetch(url + "api/v1/live")).json();
  if (!live.available || live.active) throw new Error("live: " + JSON.stringify(live));
})().catch((e) => { console.error(e.message); process.exit(1); });
JS

kill -TERM "$PID"
for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then fail "the validator did not stop on SIGTERM"; fi
wait "$PID" || fail "the validator exited $? on SIGTERM"
PID=""
grep -q "dashboard: listening on" "$WORK/demo/validator.log" || fail "validator.log lacks the line"
echo "dashboard in the validator: ok"
