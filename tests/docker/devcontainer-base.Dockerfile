# A stand-in for a devcontainer base image such as
# mcr.microsoft.com/devcontainers/javascript-node: a "node" user with
# password-less sudo, which palisade must take away.
ARG BASE=palisade-test/bookworm
FROM ${BASE}
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends sudo; \
    rm -rf /var/lib/apt/lists/*; \
    useradd --create-home --uid 1000 --shell /bin/bash node; \
    echo 'node ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/node; \
    chmod 0440 /etc/sudoers.d/node
