#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer target with clang and runs it over the seed corpus.
# usage: ewssim/fuzz/run.sh BUILD_DIR [libFuzzer options, e.g. -max_total_time=600]
# Without options it runs 20 seconds (what `make test` does).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: run.sh BUILD_DIR [libFuzzer options]}
shift
command -v clang >/dev/null || { echo "fuzz: clang is not installed (scripts/deps.sh)" >&2; exit 1; }
cmake -S "$src" -B "$out" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DMSE_FUZZ=ON \
  -DMSE_SANITIZE=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$out" --target fuzz-ews-request -j2 >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src"/ewssim/fuzz/corpus/* "$work"/
opts=("$@")
if [ ${#opts[@]} -eq 0 ]; then opts=(-max_total_time=20); fi
mkdir -p "$out/artifacts"
cd "$work"
EWS_SIM_SCHEMA_DIR="$src/ewssim/schema" ASAN_OPTIONS=detect_leaks=1 \
  "$out/ewssim/fuzz-ews-request" "$work" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$out/artifacts/" "${opts[@]}"
