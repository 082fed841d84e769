# palisade, built from this repository with its own scripts, in an image that
# holds nothing but /palisade. Any image can take it, whatever its libc:
#
#   docker build -t palisade .
#   COPY --from=palisade /palisade /sbin/palisade
#
# BASE is the Debian bookworm image the binary is built on.
ARG BASE=debian:bookworm

FROM ${BASE} AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
COPY scripts/lib/errtrap.sh scripts/lib/errtrap.sh
RUN scripts/install-deps.sh --build
COPY . .
RUN meson setup /build -Dtests=false -Dwerror=true \
    && meson compile -C /build \
    && strip -o /palisade /build/palisade \
    && /palisade --version \
    && file /palisade | grep -q 'static-pie linked'

FROM scratch
COPY --from=build /palisade /palisade
ENTRYPOINT ["/palisade"]
CMD ["--help"]
