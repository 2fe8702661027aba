#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the test suite and print the URL to use.
#   eval "$(scripts/test-postgres.sh start)"   # exports WIEWEET_TEST_POSTGRES_URL
#   scripts/test-postgres.sh stop                 # stops it and deletes its data directory
# WIEWEET_TEST_PGPORT (default 55432) and WIEWEET_TEST_PGDATA (default /tmp/wieweet-test-pg) choose the port and
# the data directory, which start wipes and stop deletes.
# Installs Debian's postgresql package when it is missing (needs root, as in CI).
set -euo pipefail

PGPORT="${WIEWEET_TEST_PGPORT:-55432}"
PGDATA="${WIEWEET_TEST_PGDATA:-/tmp/wieweet-test-pg}"
case "$PGDATA" in
  /*/*) ;;
  *) echo "WIEWEET_TEST_PGDATA must be an absolute path below a folder, not '$PGDATA'" >&2; exit 2 ;;
esac

pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -z "$dir" ]; then
    echo "installing postgresql from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    dir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  echo "$dir"
}

as_postgres() {
  # From / : the postgres user may not read the caller's directory (su would complain "could not change
  # directory"), and the commands below use absolute paths only.
  if [ "$(id -u)" = "0" ]; then
    (cd / && su postgres -s /bin/bash -c "$*")
  else
    (cd / && bash -c "$*")
  fi
}

case "${1:-start}" in
  start)
    BIN="$(pg_bin)"
    if [ -f "$PGDATA/postmaster.pid" ]; then
      as_postgres "'$BIN/pg_ctl' -D '$PGDATA' stop -m fast" >&2 || true
    fi
    rm -rf "$PGDATA"
    mkdir -p "$PGDATA"
    if [ "$(id -u)" = "0" ]; then chown postgres "$PGDATA"; fi
    as_postgres "'$BIN/initdb' -D '$PGDATA' -A trust -U postgres -E UTF8 --locale=C.UTF-8" >/dev/null
    as_postgres "'$BIN/pg_ctl' -D '$PGDATA' -l '$PGDATA/server.log' -w start \
      -o \"-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200\"" >/dev/null
    as_postgres "'$BIN/createdb' -h 127.0.0.1 -p $PGPORT -U postgres wieweet_test"
    echo "export WIEWEET_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PGPORT/wieweet_test"
    ;;
  stop)
    # Stop the server and remove its data directory (it is a throwaway, and takes ~80 MB).
    if [ -f "$PGDATA/postmaster.pid" ]; then
      BIN="$(pg_bin)"
      as_postgres "'$BIN/pg_ctl' -D '$PGDATA' stop -m fast" >/dev/null 2>&1 || true
    fi
    rm -rf "$PGDATA"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
