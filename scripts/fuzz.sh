#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang in build-fuzz/ and runs each for SECONDS
# (default 60), one at a time. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (TARGET: sse, chunk,
# chat_request, stream_recorder, corpus, jsonl, http_response, config; default: all).
#
# Exits non-zero when any target crashes, trips a sanitizer or an invariant, leaks, runs out of
# memory (-rss_limit_mb=2048) or hangs (-timeout), printing the reproducer's path. Replay one with
#   build-fuzz/fuzz/fuzz_<target> <reproducer>
# New corpus entries are kept in build-fuzz/fuzz-work/<target>/corpus and reused by later runs;
# the seeds under fuzz/corpus/<target>/ are only read.
set -euo pipefail

secs=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CACHEON_FUZZ_BUILD:-$root/build-fuzz}
jobs=${JOBS:-2}
all=(sse chunk chat_request stream_recorder corpus jsonl http_response config)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")

declare -A max_len=([sse]=16384 [chunk]=16384 [chat_request]=16384 [stream_recorder]=32768
                    [corpus]=16384 [jsonl]=8192 [http_response]=16384 [config]=256)
declare -A dict=([sse]=sse [chunk]=json [chat_request]=json [stream_recorder]=stream
                 [jsonl]=json [http_response]=http [config]=config)

for t in "${targets[@]}"; do
  [[ -n ${max_len[$t]:-} ]] || { echo "fuzz.sh: unknown target '$t' (one of: ${all[*]})" >&2; exit 2; }
done

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCACHEON_FUZZ=ON >/dev/null
ninja -C "$build" -j "$jobs" "${targets[@]/#/fuzz_}"

# stream_recorder reads SSE framing around JSON: both dictionaries.
mkdir -p "$build/fuzz-work"
cat "$root/fuzz/dict/sse.dict" "$root/fuzz/dict/json.dict" > "$build/fuzz-work/stream.dict"

failed=0
summary=()
for t in "${targets[@]}"; do
  work=$build/fuzz-work/$t
  mkdir -p "$work/corpus" "$work/artifacts"
  rm -f "$work/artifacts"/*
  args=(-max_total_time="$secs" -max_len="${max_len[$t]}" -rss_limit_mb=2048 -timeout=25
        -print_final_stats=1 -artifact_prefix="$work/artifacts/")
  if [[ -n ${dict[$t]:-} ]]; then
    d=$root/fuzz/dict/${dict[$t]}.dict
    [[ ${dict[$t]} == stream ]] && d=$build/fuzz-work/stream.dict
    args+=(-dict="$d")
  fi
  echo "== fuzz_$t: ${secs}s, max_len ${max_len[$t]}"
  rc=0
  "$build/fuzz/fuzz_$t" "${args[@]}" "$work/corpus" "$root/fuzz/corpus/$t" \
    > "$work/log.txt" 2>&1 || rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log.txt" | tail -n 1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log.txt" | tail -n 1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log.txt" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/log.txt" | tail -n 1 || true)
  line="fuzz_$t: execs ${execs:-?}, ${rate:-?} exec/s, ${cov:-no coverage line}, peak rss ${rss:-?} MB"
  if [[ $rc -ne 0 ]]; then
    failed=1
    line+=" -- FAILED (exit $rc)"
    grep -E 'ERROR: |CACHEON_ASSERT|runtime error|SUMMARY:' "$work/log.txt" | head -n 5 || true
    repro=$(sed -n 's/.*Test unit written to //p' "$work/log.txt" | tail -n 1)
    echo "   reproducer: ${repro:-(none written; see $work/log.txt)}"
    echo "   log:        $work/log.txt"
  elif [[ -z $done_line ]]; then
    failed=1
    line+=" -- FAILED (no DONE line; see $work/log.txt)"
  fi
  echo "   $line"
  summary+=("$line")
done

echo
echo "Summary (${secs}s per target):"
printf '  %s\n' "${summary[@]}"
exit "$failed"
