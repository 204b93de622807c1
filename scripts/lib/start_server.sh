# Sourced by scripts and shell tests. start_server VAR LOG CMD ARGS...: runs a server that prints
# "listening on http://HOST:PORT" once bound, appends its pid to PIDS (for the caller's cleanup
# trap) and sets VAR to its URL ("" if it did not come up within 10 s). No command substitution:
# a subshell would hide the pid from the trap.
start_server() {
  local var="$1" log="$2"
  shift 2
  "$@" >"$log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do
    grep -q "listening on" "$log" 2>/dev/null && break
    sleep 0.05
  done
  printf -v "$var" '%s' "$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$log")"
}
