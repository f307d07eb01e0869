#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run`: PostgreSQL under ./.var, mse-server on MSE_LISTEN (127.0.0.1:8080), in the
# foreground until Ctrl-C or SIGTERM, which stop everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
var=$root/.var
mkdir -p "$var/log" "$var/data"
chmod 700 "$var/data"

listen=${MSE_LISTEN:-127.0.0.1:8080}
pids=()
own_pg=""

stop_all() {
  trap - EXIT INT TERM
  echo
  echo "run: stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$own_pg" ]; then scripts/pg.sh stop "$var/pg" || true; fi
  echo "run: stopped"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

if [ -z "${MSE_DATABASE_URL:-}" ]; then
  echo "run: starting PostgreSQL in $var/pg"
  MSE_DATABASE_URL=$(scripts/pg.sh start "$var/pg")
  own_pg=1
fi
export MSE_DATABASE_URL MSE_LISTEN=$listen MSE_DATA_DIR=${MSE_DATA_DIR:-$var/data}

build/server/mse-server >>"$var/log/server.log" 2>&1 &
pids+=($!)

base=http://$listen
for _ in $(seq 1 600); do
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "run: mse-server exited; last lines of $var/log/server.log:" >&2
    tail -n 20 "$var/log/server.log" >&2
    exit 1
  fi
  sleep 0.1
done

cat <<TXT

MSE is running (Ctrl-C stops everything):
  mse-server   $base            log: $var/log/server.log
  PostgreSQL   ${MSE_DATABASE_URL}

Try:
  curl -s $base/healthz
  curl -s $base/readyz
TXT

wait "${pids[0]}"
