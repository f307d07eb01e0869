# SPDX-License-Identifier: Apache-2.0
# mse-server image: build on Debian 12, run on Debian 12 slim as an unprivileged user.
# Build from the repository root: docker build -f docker/server.Dockerfile .
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libmicrohttpd-dev libcjson-dev libpq-dev \
      libcurl4-openssl-dev libssl-dev uuid-dev libxml2-dev libglib2.0-dev libldap-dev \
      nodejs npm python3-yaml \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# swagger-ui-dist is compiled into the binary for /docs; the lint tools are not needed here.
RUN SCARF_ANALYTICS=false npm ci --omit=dev --no-audit --no-fund
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    && cmake --build /build -j"$(nproc)" --target mse-server

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libcjson1 libpq5 libssl3 libuuid1 libglib2.0-0 libldap-2.5-0 tzdata \
      ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/mse --create-home mse
COPY --from=build /build/server/mse-server /usr/local/bin/mse-server
USER mse
ENV MSE_LISTEN=0.0.0.0:8080 \
    MSE_DATA_DIR=/var/lib/mse
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/mse-server"]
