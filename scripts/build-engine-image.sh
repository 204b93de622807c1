#!/usr/bin/env bash
# Builds the OCI image of the reference engine from scratch (no base image: nothing is pulled):
# the cacheon-engine binary, every shared library of its ldd closure, the dynamic loader at its
# canonical path, a minimal /etc with the non-root user `cacheon` (65532), /tmp and an empty
# /models mount point. Deterministic for the same binary and commit: files and the image's
# creation time are stamped with the commit time, so the image id does not change between builds.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPO=localhost/cacheon-engine
ROOTFS_ONLY=""
STRIP=1
BUILD_DIR=""
PODMAN="${PODMAN:-podman}"
LIBDIR=lib/x86_64-linux-gnu   # every library but the loader, flat, inside the rootfs

usage() {
  cat <<EOF
Usage: scripts/build-engine-image.sh [OPTIONS] [BUILD_DIR]

Builds the OCI image localhost/cacheon-engine:<git short sha> (and :latest) with podman, from a
rootfs made of BUILD_DIR/src/cacheon-engine and the shared libraries it links (no base image).
BUILD_DIR defaults to $ROOT/build (the one \`make\` uses); build the engine there first
(\`make build\`, or \`cmake --build BUILD_DIR --target cacheon-engine\`).

Options:
  --rootfs-only DIR  only write the rootfs to DIR (must be empty, absent, or an earlier rootfs);
                     no podman needed. Run the binary from it on any x86-64 Linux host with:
                       DIR/lib64/ld-linux-x86-64.so.2 --library-path DIR/$LIBDIR \\
                           DIR/usr/local/bin/cacheon-engine --help
  --repo NAME        image repository (default: $REPO)
  --no-strip         keep the binary's debug sections (stripped by default: --strip-debug)
  -h, --help         this help

The image runs as uid 65532 (cacheon), exposes 8000, and its entrypoint is
  cacheon-engine serve --model /models --host 0.0.0.0 --port 8000
with default arguments (CMD) --served-model-name Qwen2.5-72B-Instruct; arguments given to
\`podman run IMAGE ...\` replace the CMD, e.g. \`--served-model-name tiny --threads 4\`.
Mount the weights read-only:  podman run --runtime runc -v MODEL_DIR:/models:ro -p 8000:8000 IMAGE
Prints the image id, its digest and its tags on stdout (last lines: "id ...", "digest ...").
EOF
}

die() { echo "build-engine-image: $1" >&2; exit "${2:-1}"; }

while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --rootfs-only) (($# >= 2)) || die "--rootfs-only needs a directory" 2; ROOTFS_ONLY="$2"; shift 2 ;;
    --rootfs-only=*) ROOTFS_ONLY="${1#*=}"; shift ;;
    --repo) (($# >= 2)) || die "--repo needs a name" 2; REPO="$2"; shift 2 ;;
    --repo=*) REPO="${1#*=}"; shift ;;
    --no-strip) STRIP=0; shift ;;
    -*) die "unknown option $1 (see --help)" 2 ;;
    *) [ -z "$BUILD_DIR" ] || die "one BUILD_DIR only (see --help)" 2; BUILD_DIR="$1"; shift ;;
  esac
done
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BIN="$BUILD_DIR/src/cacheon-engine"
[ -d "$BUILD_DIR" ] || die "no build directory $BUILD_DIR: build the engine first (make build)"
[ -x "$BIN" ] || die "no $BIN: build it first (cmake --build $BUILD_DIR --target cacheon-engine)"
[ "$(uname -m)" = x86_64 ] || die "only x86-64 hosts are supported (the loader path is fixed)"
for tool in ldd readelf strip tar; do
  command -v "$tool" >/dev/null || die "$tool not found (install binutils / libc-bin)"
done

# Provenance: the commit, its time (the fixed timestamp of every file), dirty or not.
COMMIT="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null)" || die "$ROOT is not a git checkout"
SHORT="$(git -C "$ROOT" rev-parse --short HEAD)"
EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct HEAD)}"
VERSION="$(git -C "$ROOT" describe --always --dirty)"
TAG="$SHORT"
case "$VERSION" in *-dirty) TAG="$SHORT-dirty" ;; esac

# make_rootfs DIR: writes the rootfs into DIR (absent or empty).
make_rootfs() {
  local dir="$1" interp line name path real pkgs=() p
  interp="$(readelf -l "$BIN" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')"
  [ "$interp" = /lib64/ld-linux-x86-64.so.2 ] ||
    die "$BIN asks for the loader '$interp', expected /lib64/ld-linux-x86-64.so.2"
  mkdir -p "$dir"/{usr/local/bin,lib64,"$LIBDIR",etc,tmp,models,usr/share/doc}
  chmod 1777 "$dir/tmp"
  if ((STRIP)); then
    strip --strip-debug -o "$dir/usr/local/bin/cacheon-engine" "$BIN"
  else
    cp "$BIN" "$dir/usr/local/bin/cacheon-engine"
  fi
  chmod 0755 "$dir/usr/local/bin/cacheon-engine"

  # The ldd closure: "name => /path (addr)" lines and the loader's own "/path (addr)" line.
  local ldd_out
  ldd_out="$(ldd "$BIN")" || die "ldd $BIN failed"
  if grep -q "not found" <<<"$ldd_out"; then die "unresolved libraries: $(grep 'not found' <<<"$ldd_out")"; fi
  while read -r line; do
    case "$line" in
      *" => "/*) name="${line%% => *}"; path="${line#* => }"; path="${path%% (*}"
                 cp -L "$path" "$dir/$LIBDIR/$name" ;;
      /*) path="${line%% (*}"; [ "$path" = "$interp" ] || die "unexpected ldd line: $line"
          cp -L "$path" "$dir$interp" ;;
      linux-vdso*|"") continue ;;
      *) die "unexpected ldd line: $line" ;;
    esac
    real="$(readlink -f "$path")"
    # The Debian package of each library, for its copyright file (licences travel with the libs).
    p="$(dpkg -S "$real" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true)"
    [ -z "$p" ] || pkgs+=("${p%%:*}")
  done <<<"$ldd_out"
  [ -f "$dir$interp" ] || die "ldd did not list the loader $interp"
  chmod 0755 "$dir$interp"
  chmod 0644 "$dir/$LIBDIR"/*
  if ((${#pkgs[@]})); then
    mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
    for p in "${pkgs[@]}"; do
      if [ -f "/usr/share/doc/$p/copyright" ]; then
        mkdir -p "$dir/usr/share/doc/$p"
        cp "/usr/share/doc/$p/copyright" "$dir/usr/share/doc/$p/copyright"
      fi
    done
    dpkg-query -W -f='${binary:Package} ${Version}\n' "${pkgs[@]}" \
      >"$dir/usr/share/doc/packages.txt" 2>/dev/null || true
  fi

  # Home is /tmp: the arena runs images with a read-only root and a private tmpfs there.
  printf 'root:x:0:0:root:/root:/sbin/nologin\ncacheon:x:65532:65532:cacheon:/tmp:/sbin/nologin\n' \
    >"$dir/etc/passwd"
  printf 'root:x:0:\ncacheon:x:65532:\n' >"$dir/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$dir/etc/nsswitch.conf"
  printf 'cacheon-engine %s (%s)\n' "$VERSION" "$COMMIT" >"$dir/usr/share/doc/cacheon-engine.version"

  # Fixed modes and times, so the same inputs give the same bytes.
  find "$dir" -type d ! -path "$dir/tmp" -exec chmod 0755 {} +
  find "$dir" -exec touch -h -d "@$EPOCH" {} +

  # Self-check: the binary runs through the rootfs's own loader and libraries.
  "$dir$interp" --inhibit-cache --library-path "$dir/$LIBDIR" "$dir/usr/local/bin/cacheon-engine" \
    --help >/dev/null || die "the rootfs in $dir does not run cacheon-engine --help"
}

if [ -n "$ROOTFS_ONLY" ]; then
  if [ -e "$ROOTFS_ONLY" ] && [ -n "$(ls -A "$ROOTFS_ONLY")" ]; then
    [ -f "$ROOTFS_ONLY/usr/local/bin/cacheon-engine" ] ||
      die "$ROOTFS_ONLY is not empty and not an earlier rootfs: refusing to write there"
    rm -rf "$ROOTFS_ONLY"
  fi
  make_rootfs "$ROOTFS_ONLY"
  d="$(cd "$ROOTFS_ONLY" && pwd)"
  echo "rootfs written to $d ($(du -sh "$d" | cut -f1)); run the engine from it with:"
  echo "  $d/lib64/ld-linux-x86-64.so.2 --library-path $d/$LIBDIR $d/usr/local/bin/cacheon-engine --help"
  exit 0
fi

command -v "$PODMAN" >/dev/null ||
  die "podman not found: run scripts/setup-deps.sh (apt-get install podman runc)"
CTX="$(mktemp -d)"
trap 'rm -rf "$CTX"' EXIT
make_rootfs "$CTX/rootfs"
cat >"$CTX/Containerfile" <<EOF
FROM scratch
COPY rootfs/ /
LABEL org.opencontainers.image.title="cacheon-engine" \\
      org.opencontainers.image.description="Cacheon reference engine: OpenAI-compatible Qwen2 server (CPU)" \\
      org.opencontainers.image.revision="$COMMIT" \\
      org.opencontainers.image.version="$VERSION" \\
      org.opencontainers.image.created="$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
USER 65532:65532
WORKDIR /tmp
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/cacheon-engine", "serve", "--model", "/models", "--host", "0.0.0.0", "--port", "8000"]
CMD ["--served-model-name", "Qwen2.5-72B-Instruct"]
EOF
# No RUN step, so no container runtime is involved; --timestamp fixes the creation time and every
# file's time in the layer (deterministic image id).
"$PODMAN" build --quiet --timestamp "$EPOCH" --format oci -f "$CTX/Containerfile" \
  -t "$REPO:$TAG" -t "$REPO:latest" "$CTX" >/dev/null || die "podman build failed"
ID="$("$PODMAN" image inspect --format '{{.Id}}' "$REPO:$TAG")"
DIGEST="$("$PODMAN" image inspect --format '{{.Digest}}' "$REPO:$TAG")"
SIZE="$("$PODMAN" image inspect --format '{{.Size}}' "$REPO:$TAG")"
echo "built $REPO:$TAG and $REPO:latest ($((SIZE / 1000000)) MB, $VERSION)"
echo "id $ID"
echo "digest $DIGEST"
