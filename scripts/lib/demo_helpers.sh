# shellcheck shell=bash
# Sourced by scripts/demo.sh: progress lines, running a command with its output kept under
# $OUT/cli/, reading one field of the CLI's JSON, the TOML and launch-spec writers, and the
# corruption of one tensor of a safetensors file. Expects OUT and T0 set by the caller.
STEP=0

die() { echo "demo: error: $*" >&2; exit 1; }
step() { STEP=$((STEP + 1)); printf '\n== [%d] %s  (%ds)\n' "$STEP" "$*" "$((SECONDS - T0))"; }
info() { printf '   %s\n' "$*"; }

# run NAME CMD...: stdout to $OUT/cli/NAME.out, stderr to NAME.err; on failure shows both.
run() {
  local name="$1"
  shift
  if ! "$@" >"$OUT/cli/$name.out" 2>"$OUT/cli/$name.err"; then
    echo "demo: '$*' failed:" >&2
    tail -n 20 "$OUT/cli/$name.out" "$OUT/cli/$name.err" >&2
    exit 1
  fi
}

# json_field KEY FILE: a top-level string or number field of the CLI's pretty-printed JSON
# (one "key": value per line), without quotes. Fails when absent.
json_field() {
  local v
  v="$(sed -n "s/^ \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$2" | head -n 1)"
  [ -n "$v" ] && printf '%s\n' "$v"
}

# image_name REF: the reference without its tag (the launcher's key is name@sha256:...). A ':'
# before the last '/' is a registry port, not a tag.
image_name() {
  local ref="$1" last="${1##*/}"
  if [[ "$last" == *:* ]]; then printf '%s\n' "${ref%:*}"; else printf '%s\n' "$ref"; fi
}

# toml_array WORD...: a TOML array of basic strings.
toml_array() {
  local out="[" sep="" w
  for w in "$@"; do
    w="${w//\\/\\\\}"
    out+="$sep\"${w//\"/\\\"}\""
    sep=", "
  done
  printf '%s]\n' "$out"
}

# write_spec FILE ENGINE MODEL_DIR ARGS: what a server is, independent of where it sits on this
# machine: the engine binary's and every model file's sha256, and the arguments after --model.
write_spec() {
  local file="$1" engine="$2" model="$3" args="$4"
  {
    echo "cacheon demo launch spec v1 (stands in for an OCI image until issue 5)"
    echo "engine sha256:$(sha256sum "$engine" | cut -d' ' -f1)"
    (cd "$model" && LC_ALL=C sha256sum -- *) | sed 's/^/model sha256:/'
    echo "args $args"
  } >"$file"
}

# corrupt_bf16_tensor FILE TENSOR: overwrites a BF16 tensor of a safetensors file in place with
# +1, -1, +1, ... The file is an 8-byte little-endian header length, a JSON header whose
# entries are "name":{"data_offsets":[begin,end],"dtype":...,"shape":[...]}, then the data.
corrupt_bf16_tensor() {
  local file="$1" name="$2" n header entry begin end i pattern=""
  n="$(od --endian=little -An -t u8 -N8 "$file" | tr -d ' ')"
  [[ "$n" =~ ^[0-9]+$ ]] && ((n > 0 && n < 100000000)) || return 1
  header="$(head -c "$((8 + n))" "$file" | tail -c "$n")"
  entry="$(grep -o "\"$name\":{[^}]*}" <<<"$header")" || return 1
  grep -q '"dtype":"BF16"' <<<"$entry" || return 1
  local re='"data_offsets":\[([0-9]+),([0-9]+)\]'
  [[ "$entry" =~ $re ]] || return 1
  begin="${BASH_REMATCH[1]}"
  end="${BASH_REMATCH[2]}"
  ((end > begin && (end - begin) % 4 == 0)) || return 1
  for ((i = 0; i < (end - begin) / 4; i++)); do pattern+='\x80\x3f\x80\xbf'; done  # LE bf16
  printf '%b' "$pattern" | dd of="$file" bs=1 seek="$((8 + n + begin))" conv=notrunc status=none
}
