#!/usr/bin/env bash
# Builds the trusted relay image (tools/relay/relay.c, a static binary, no base image): the
# container runner puts one next to each submission to carry the harness's connections onto the
# submission's internal network (src/runner/README.md). The tag is the source's sha256 prefix, so
# the image is rebuilt only when relay.c changes; prints the image reference on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPO=localhost/cacheon-relay
PODMAN="${PODMAN:-podman}"

case "${1:-}" in
  -h|--help)
    cat <<EOF
Usage: scripts/build-relay-image.sh

Builds $REPO:<sha256 of tools/relay/relay.c, 12 hex> with podman (gcc -static, FROM scratch,
runs as 65532:65532) unless it exists already, and prints the reference. Needs gcc and podman
(scripts/setup-deps.sh installs both).
EOF
    exit 0 ;;
  "") ;;
  *) echo "build-relay-image: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

SRC="$ROOT/tools/relay/relay.c"
TAG="$(sha256sum "$SRC" | cut -c1-12)"
REF="$REPO:$TAG"
if "$PODMAN" image exists "$REF" 2>/dev/null; then
  echo "$REF"
  exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
gcc -static -O2 -Wall -Wextra -o "$WORK/relay" "$SRC" -lpthread
cat > "$WORK/Containerfile" <<EOF
FROM scratch
COPY relay /relay
USER 65532:65532
ENTRYPOINT ["/relay"]
EOF
"$PODMAN" build -q --timestamp 0 -t "$REF" "$WORK" >/dev/null
echo "$REF"
