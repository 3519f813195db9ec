# vgpu-scheduler image: Debian bookworm, built from the same Debian packages
# as `make` (see PKGS in the Makefile), run as a non-root user.
#
#   docker build -t vgpu-scheduler .                 # builds and runs the tests
#   docker build --build-arg TESTS=0 -t vgpu-scheduler .
#
# The image holds one binary: `vgpu-scheduler [flags]` serves,
# `vgpu-scheduler gen-cert ...` makes certificates (manifests/certgen).

FROM debian:bookworm AS build
ARG TESTS=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmicrohttpd-dev libgnutls28-dev libcjson-dev libcurl4-openssl-dev libssl-dev \
      libyaml-dev check pkg-config cmake gcc make libc6-dev \
 && if [ "$TESTS" = 1 ]; then apt-get install -y --no-install-recommends chromium; fi \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null \
 && cmake --build /build -j"$(nproc)" \
 && if [ "$TESTS" = 1 ]; then cd /build && ctest --output-on-failure -j"$(nproc)"; fi \
 && strip -o /vgpu-scheduler /build/vgpu-scheduler

FROM debian:bookworm-slim
# The runtime halves of the build packages, nothing else.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libgnutls30 libcjson1 libcurl4 libssl3 libyaml-0-2 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 vgpu \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin vgpu
COPY --from=build /vgpu-scheduler /usr/local/bin/vgpu-scheduler
USER 65532:65532
EXPOSE 8443 9443 9395
ENTRYPOINT ["/usr/local/bin/vgpu-scheduler"]
CMD ["--help"]
