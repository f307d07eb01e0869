# SPDX-License-Identifier: Apache-2.0
# ews-sim image: the Exchange stand-in for demos and tests.
# Build from the repository root: docker build -f docker/ews-sim.Dockerfile .
# The control API (/_sim/) answers loopback clients only; from outside the container set
# EWS_SIM_CONTROL_TOKEN and send "Authorization: Bearer <token>".
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libmicrohttpd-dev libcjson-dev libpq-dev \
      libcurl4-openssl-dev libssl-dev uuid-dev libxml2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    && cmake --build /build -j"$(nproc)" --target ews-sim

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libxml2 libcjson1 libssl3 libuuid1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home mse
COPY --from=build /build/ewssim/ews-sim /usr/local/bin/ews-sim
COPY --from=build /src/ewssim/fixtures /usr/share/ews-sim/fixtures
COPY --from=build /src/ewssim/schema /usr/share/ews-sim/schema
USER mse
ENV EWS_SIM_LISTEN=0.0.0.0:8081 \
    EWS_SIM_SCHEMA_DIR=/usr/share/ews-sim/schema \
    EWS_SIM_FIXTURE=/usr/share/ews-sim/fixtures/demo.json
EXPOSE 8081
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ews-sim"]
