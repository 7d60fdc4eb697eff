#!/usr/bin/env bash
# A PostgreSQL server of the tests' own: Debian's `postgresql` (installed when missing), a new
# cluster in a temporary directory, owned by a non-root user, on a free loopback port, with a
# random password and TLS on (a self-signed certificate). Never a server the machine happens to run.
#
#   eval "$(tests/postgres.sh start)"        # prints the export lines below; logs on stderr
#   tests/postgres.sh stop "$MSSYNC_TEST_POSTGRES_DIR"
#   tests/postgres.sh run COMMAND [ARGS...]  # start, run COMMAND with the variables, stop
#
# Exports MSSYNC_TEST_POSTGRES_URL (postgres://mssync:PASSWORD@127.0.0.1:PORT/postgres, a
# superuser: each test creates a database of its own) and MSSYNC_TEST_POSTGRES_DIR.
set -euo pipefail

log() { printf '%s\n' "$*" >&2; }

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install_if_missing() {
  local pkgs=()
  { [ -n "$(bin_dir)" ] && [ -x "$(bin_dir)/initdb" ]; } || pkgs+=(postgresql)
  command -v openssl >/dev/null || pkgs+=(openssl)
  if ((${#pkgs[@]})); then
    log "installing ${pkgs[*]} (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
  fi
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the package's `postgres`
# user; otherwise to whoever runs this.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  install_if_missing
  local bin dir port password
  bin=$(bin_dir)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/mssync-postgres.XXXXXX")
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  printf '%s\n' "$password" > "$dir/pwfile"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pwfile"
  as_owner "$bin/initdb" -D "$dir/data" -U mssync --pwfile="$dir/pwfile" --auth=scram-sha-256 \
    -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  # TLS on, with a self-signed certificate, as Debian's own clusters ship (snakeoil): the tests
  # check that loopback URLs stay plain and that `sslmode=require` verifies, refusing this one.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1
  chmod 600 "$dir/server.key"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/server.key" "$dir/server.crt"
  # A port is free when asked and may be taken before the server binds it: try a few.
  local attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    # Loopback only, the socket in the private directory; fsync off: a test cluster is thrown
    # away, never recovered after a power cut.
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key" \
      start >/dev/null; then
      log "postgresql $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
      printf 'export MSSYNC_TEST_POSTGRES_URL=%q\n' "postgres://mssync:$password@127.0.0.1:$port/postgres"
      printf 'export MSSYNC_TEST_POSTGRES_DIR=%q\n' "$dir"
      return 0
    fi
    log "the server did not start on port $port (attempt $attempt):"; tail -n 5 "$dir/log" >&2 || true
  done
  rm -rf "$dir"
  exit 1
}

stop() {
  local dir=${1:?usage: tests/postgres.sh stop DIR}
  [ -d "$dir/data" ] || return 0
  as_owner "$(bin_dir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 \
    || as_owner "$(bin_dir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  log "postgresql stopped (removed $dir)"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  run)
    shift
    eval "$(start)"
    trap 'stop "$MSSYNC_TEST_POSTGRES_DIR"' EXIT
    export MSSYNC_REQUIRE_POSTGRES=1
    "$@"
    ;;
  *) echo "usage: tests/postgres.sh start | stop DIR | run COMMAND [ARGS...]" >&2; exit 2 ;;
esac
