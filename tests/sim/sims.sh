# Sourced by the C and C# test scripts: starts the `mssync-sims` binary (the seeded world of the
# three simulators) and exports its one JSON line as MSS_SIMS_JSON. The binary serves until its
# stdin closes: `stop_sims` closes it (the scripts also call it from their EXIT trap).
# Usage: start_sims ROOT WORKDIR; ...; stop_sims

sims_pid=""

start_sims() {
  local root=$1 work=$2 target=${CARGO_TARGET_DIR:-$1/target}
  (cd "$root" && cargo build -p mssync-sim --bin mssync-sims --locked -q)
  mkfifo "$work/sims.in"
  "$target/debug/mssync-sims" <"$work/sims.in" >"$work/sims.out" 2>"$work/sims.err" &
  sims_pid=$!
  exec 9>"$work/sims.in" # holds the binary's stdin open until stop_sims
  for _ in $(seq 100); do
    [ -s "$work/sims.out" ] && break
    sleep 0.1
  done
  MSS_SIMS_JSON=$(head -n 1 "$work/sims.out")
  if [ -z "$MSS_SIMS_JSON" ]; then
    echo "the simulators did not start:" >&2
    cat "$work/sims.err" >&2
    return 1
  fi
  export MSS_SIMS_JSON
}

stop_sims() {
  if [ -n "$sims_pid" ]; then
    exec 9>&-
    wait "$sims_pid" 2>/dev/null || true
    sims_pid=""
  fi
}
