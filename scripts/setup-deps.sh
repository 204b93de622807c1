#!/usr/bin/env bash
# Installs everything the build and tests need. Idempotent: skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.74-dev libboost-system1.74-dev libssl-dev
  libsimdjson-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libopenblas-dev libutf8proc-dev
  libsqlite3-dev libsodium-dev libtomlplusplus-dev sqlite3
  nodejs
  # The engine's OCI image (scripts/build-engine-image.sh, tests/container/): podman as root with
  # runc (crun cannot set rlimits in some sandboxes); curl for the container test.
  podman runc curl
  # Running submissions (src/runner, tests/container/): a local registry to pull from by digest
  # and busybox-static for the hostile test images built from scratch.
  docker-registry busybox-static
  # The dashboard's browser tests (tests/node/dashboard_browser.mjs): Debian's chromium, driven
  # headless by playwright-core from npm.
  chromium
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm ships with nodesource nodejs; Debian splits it out.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || echo "setup: apt-get update failed; trying with the cached lists"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages (test clients, tokenizer) are pinned in package.json / package-lock.json.
if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
