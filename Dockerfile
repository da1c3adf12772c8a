# imagewatch container image: multi-stage on Debian bookworm (the packages CI installs).
#   docker build -t imagewatch --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
#   docker run -d --name imagewatch --restart unless-stopped \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     -v /etc/imagewatch:/etc/imagewatch:ro \
#     --group-add "$(stat -c %g /var/run/docker.sock)" -e ADMIN_TOKEN=... imagewatch
# It runs as the unprivileged user `imagewatch` (uid 10001). The Docker socket is reached through its
# group: pass `--group-add <socket GID>`, or run with `--user 0` and the entrypoint adopts the
# socket's group and drops to uid 10001 before starting the daemon (deploy/docker-entrypoint.sh).
# Mount the config *directory* so live edits (rename-on-save) are seen; see README "Deployment".
# The build stage needs no network beyond the Debian mirror (`docker build --network host` where
# the mirror is only reachable from the host network).

FROM debian:bookworm-slim AS build
# JOBS: parallel compile jobs (each needs about 1.5 GB of memory).
ARG JOBS=2
WORKDIR /src
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        g++ cmake ninja-build libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libc-ares-dev \
    && rm -rf /var/lib/apt/lists/*
# One COPY of the whole context: .dockerignore lets only the build inputs through.
COPY . .
# Release without debug info: the binary is stripped anyway, and -g only slows the compile.
RUN cmake --preset release -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null \
    && cmake --build --preset release --target imagewatch -j "$JOBS" \
    && strip --strip-unneeded build/release/app/imagewatch \
    && build/release/app/imagewatch --version

FROM debian:bookworm-slim
# curl: only for the HEALTHCHECK (and handy for `docker exec ... curl` by an operator).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates libssl3 libboost-json1.81.0 libboost-url1.81.0 libc-ares2 curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 imagewatch \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin imagewatch
COPY --from=build /src/build/release/app/imagewatch /usr/local/bin/imagewatch
COPY deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint
COPY deploy/docker-healthcheck.sh /usr/local/bin/docker-healthcheck
COPY config/imagewatch.json /etc/imagewatch/config.json
ENV IMAGEWATCH_CONFIG=/etc/imagewatch/config.json
USER imagewatch
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["docker-healthcheck"]
ENTRYPOINT ["docker-entrypoint"]
CMD ["imagewatch"]
# Last, so a new revision does not invalidate the layers above.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://example.invalid/imagewatch
LABEL org.opencontainers.image.title="imagewatch" \
      org.opencontainers.image.description="Replaces Docker containers whose image tag moved" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="debian:bookworm-slim"
