# SPDX-License-Identifier: Apache-2.0
# The README's commands. Each installs what it lacks, builds, and cleans up what it starts.
.PHONY: all build run test soak bench format check-format clean deps

JOBS ?= $(shell nproc)

all: build

deps:
	@scripts/deps.sh

# Optimised build used by `make run` and `make bench`.
build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF -DMSE_WERROR=OFF \
		-DMSE_SANITIZE=OFF >/dev/null
	@cmake --build build -j$(JOBS) -- --no-print-directory

# MSE_RUN_BIN: binaries built elsewhere (a test's build), so nothing is built here.
run: $(if $(MSE_RUN_BIN),,build)
	@scripts/run.sh

# Warnings as errors, ASan + UBSan, a throwaway PostgreSQL, every test.
test: deps
	@scripts/test.sh

# The reliability suite at full size (README, Tests).
soak: deps
	@MSE_RELIABILITY_SCALE=soak CTEST_ARGS="-L reliability --timeout 5400" scripts/test.sh

bench: build
	@scripts/bench.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	@scripts/checksrc.sh

clean:
	rm -rf build build-test
