# SPDX-License-Identifier: Apache-2.0
# mse-worker image: build on Debian 12, run on Debian 12 slim as an unprivileged user.
# Build from the repository root: docker build -f docker/worker.Dockerfile .
# Configure it with MSE_WORKER_* variables or a file named by MSE_WORKER_CONFIG (docs/worker.md).
FROM debian:12 AS build
# The whole project is configured, so the server's build dependencies are needed too
# (only the worker is built).
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libmicrohttpd-dev libcjson-dev libpq-dev \
      libcurl4-openssl-dev libssl-dev uuid-dev libxml2-dev libglib2.0-dev libldap-dev \
      nodejs npm python3-yaml \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN SCARF_ANALYTICS=false npm ci --omit=dev --no-audit --no-fund
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    && cmake --build /build -j"$(nproc)" --target mse-worker

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libcurl4 libxml2 libcjson1 libssl3 libuuid1 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/mse-worker --create-home mse
COPY --from=build /build/worker/mse-worker /usr/local/bin/mse-worker
USER mse
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/mse-worker"]
