#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make bench`: the release build (build/) against a throwaway PostgreSQL, every benchmark side
# by side with its peer; prints the table and writes bench/results/. Ctrl-C stops everything.
# Arguments for bench/bench.py go in BENCH_ARGS (e.g. BENCH_ARGS="--only api --rounds 1").
# Logs of the last run stay in .var/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$root/.var/bench
rm -rf "$work"
mkdir -p "$work"

tmp=$(mktemp -d /tmp/mse-bench.XXXXXX)
chmod 755 "$tmp" # the postgres user must reach the cluster directory when we run as root
cleanup() {
  scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: starting a throwaway PostgreSQL in $tmp"
pg=$(scripts/pg.sh start "$tmp/pg" --fast)

# bench.py stops every process it started, also when Ctrl-C reaches it first.
# shellcheck disable=SC2086
/usr/bin/python3 bench/bench.py --pg "$pg" --build "$root/build" --out "$root/bench/results" \
  --workdir "$work" ${BENCH_ARGS:-}
