#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A private PostgreSQL cluster in a directory: start (initdb on first use), stop, status, url.
#   pg.sh start DIR [--tcp PORT] [--fast]   --fast: durability off, for throwaway test clusters
#   pg.sh stop DIR
#   pg.sh status DIR
#   pg.sh url DIR                            prints the libpq conninfo for database "mse"
# The server listens on a unix socket inside DIR only, unless --tcp asks for 127.0.0.1:PORT.
# PostgreSQL refuses to run as root, so as root the cluster belongs to the "postgres" user.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || die "PostgreSQL server binaries not found (run scripts/deps.sh)"

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pg.sh start|stop|status|url DIR [--tcp PORT] [--fast]"
shift 2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data
port=5432

# The socket path must fit in sun_path (107 bytes); deep checkouts get a short alias in /tmp.
sockdir=$dir
if [ ${#dir} -gt 80 ]; then
  sockdir=/tmp/mse-pg-$(printf '%s' "$dir" | sha256sum | cut -c1-16)
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

conninfo() { echo "host=$sockdir port=$port dbname=mse user=mse"; }

case "$cmd" in
start)
  tcp=""; fast=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --tcp) tcp=$2; shift 2 ;;
      --fast) fast=1; shift ;;
      *) die "unknown option $1" ;;
    esac
  done
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "the 'postgres' user is missing (install the postgresql package)"
    chown postgres: "$dir"
    runuser -u postgres -- test -w "$dir" ||
      die "user 'postgres' cannot reach $dir; make its parent directories world-searchable (chmod o+x) or set MSE_DATABASE_URL to another PostgreSQL"
  fi
  if [ "$sockdir" != "$dir" ]; then
    mkdir -p "$sockdir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$sockdir"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$data" -U mse -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
      die "initdb failed; see $dir/initdb.log"
    {
      echo "# Written by scripts/pg.sh"
      echo "unix_socket_directories = '$sockdir'"
      # Only the owner (and root) may connect: the cluster trusts local connections.
      echo "unix_socket_permissions = 0700"
      echo "listen_addresses = '${tcp:+127.0.0.1}'"
      echo "port = ${tcp:-$port}"
      echo "max_connections = 300"
      echo "log_min_messages = warning"
      echo "log_min_error_statement = panic"
      if [ -n "$fast" ]; then
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
      fi
    } | as_owner tee -a "$data/postgresql.conf" >/dev/null
  fi
  port=$(sed -n 's/^port = \([0-9]*\).*/\1/p' "$data/postgresql.conf" | tail -n 1)
  if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null ||
      die "PostgreSQL did not start; see $dir/postgres.log"
  fi
  if ! "$bindir/psql" "host=$sockdir port=$port dbname=postgres user=mse" -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'mse'" | grep -q 1; then
    "$bindir/psql" "host=$sockdir port=$port dbname=postgres user=mse" -qc "CREATE DATABASE mse" >/dev/null
  fi
  conninfo
  ;;
stop)
  if [ -f "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
  fi
  ;;
status)
  as_owner "$bindir/pg_ctl" -D "$data" status
  ;;
url)
  [ -f "$data/postgresql.conf" ] && port=$(sed -n 's/^port = \([0-9]*\).*/\1/p' "$data/postgresql.conf" | tail -n 1)
  conninfo
  ;;
*) die "unknown command $cmd" ;;
esac
