#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the MIME libFuzzer target with clang and runs it over the message corpus.
# usage: server/fuzz/run.sh BUILD_DIR [libFuzzer options, e.g. -max_total_time=600]
# Without options it runs 20 seconds (what `make test` does).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: run.sh BUILD_DIR [libFuzzer options]}
shift
mkdir -p "$out" && out=$(cd "$out" && pwd)
command -v clang >/dev/null || { echo "fuzz: clang is not installed (scripts/deps.sh)" >&2; exit 1; }
cmake -S "$src" -B "$out" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DMSE_FUZZ=ON \
  -DMSE_SANITIZE=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$out" --target fuzz-mime -j2 >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src"/tests/unit/mime/* "$work"/
opts=("$@")
if [ ${#opts[@]} -eq 0 ]; then opts=(-max_total_time=20); fi
mkdir -p "$out/artifacts"
cd "$work"
ASAN_OPTIONS=detect_leaks=1 "$out/server/fuzz-mime" "$work" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/artifacts/" "${opts[@]}"
