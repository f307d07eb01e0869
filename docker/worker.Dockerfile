# SPDX-License-Identifier: Apache-2.0
# mse-worker image: build on Debian 12, run on Debian 12 slim as an unprivileged user.
# Build from the repository root: docker build -f docker/worker.Dockerfile .
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libmicrohttpd-dev libcjson-dev libpq-dev \
      libcurl4-openssl-dev libssl-dev uuid-dev libxml2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
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
