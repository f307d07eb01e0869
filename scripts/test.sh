#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make test`: strict sanitized build, a throwaway PostgreSQL, every registered test.
# Extra arguments for ctest go in CTEST_ARGS (e.g. CTEST_ARGS="-R api.foundation").
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-test
jobs=$(nproc)

# -O1: the optimiser's range analysis finds truncations -O0 cannot (release builds use -O2).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DMSE_WERROR=ON -DMSE_SANITIZE=ON \
  -DBUILD_TESTING=ON >/dev/null
cmake --build "$build" -j"$jobs" -- --no-print-directory

tmp=$(mktemp -d /tmp/mse-test.XXXXXX)
chmod 755 "$tmp" # the postgres user must reach the cluster directory when we run as root
cleanup() {
  scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "test: starting a throwaway PostgreSQL in $tmp"
MSE_TEST_PG=$(scripts/pg.sh start "$tmp/pg" --fast)
export MSE_TEST_PG

# shellcheck disable=SC2086
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 1200 ${CTEST_ARGS:-}
