# imagewatch: multi-stage build on Debian bookworm (the same packages CI installs).
# Build:  docker build -t imagewatch .
# Run:    docker run -d --name imagewatch \
#           -v /var/run/docker.sock:/var/run/docker.sock \
#           -v $PWD/config/imagewatch.json:/etc/imagewatch/config.json:ro \
#           --group-add $(stat -c %g /var/run/docker.sock) -e ADMIN_TOKEN=... imagewatch
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        g++ cmake ninja-build libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
        libssl-dev doctest-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY lib lib
COPY app app
COPY test test
RUN cmake --preset release -DBUILD_TESTING=OFF && cmake --build --preset release --target imagewatch

FROM debian:bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="imagewatch" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://example.invalid/imagewatch"
RUN apt-get update && apt-get install -y --no-install-recommends \
        ca-certificates libssl3 libboost-json1.81.0 libboost-url1.81.0 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home imagewatch
COPY --from=build /src/build/release/app/imagewatch /usr/local/bin/imagewatch
COPY config/imagewatch.json /etc/imagewatch/config.json
USER imagewatch
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/imagewatch"]
CMD ["--config", "/etc/imagewatch/config.json"]
