# The image of bench/startup.sh: one image the size of the Claude Code
# image (images/claude-code: Debian bookworm, Node and a global npm
# install) that holds both palisade, as the top Dockerfile builds it, and the
# shell recipe of bench/recipe/ with its tools (iptables, ipset, dig, sudo),
# so that the two start the same agent from the same files. bench/startup.sh
# builds it from a context of its own making:
#
#   Dockerfile  stamp (bench/stamp.c, static)  startup-tree.sh  recipe/
#
# Build arguments:
#   BASE            Debian bookworm (palisade-test/bookworm, made by
#                   scripts/docker-engine.sh with debootstrap: nothing is pulled)
#   PALISADE_IMAGE  the image that holds /palisade (the top Dockerfile)
#   NODE_PACKAGES   Debian's Node packages ("nodejs"; "nodejs npm" adds npm's
#                   27,000 files); left out when the archive does not serve them
#   FILES           the files (all but directories) the image ends with: a
#                   synthetic node_modules tree makes up the difference
#   NAMES           the allowlist, for palisade and for the recipe alike
ARG BASE=palisade-test/bookworm
ARG PALISADE_IMAGE=palisade-bench/palisade
FROM ${PALISADE_IMAGE} AS palisade

FROM ${BASE}
ARG NODE_PACKAGES=nodejs
ARG FILES=28000
ARG NAMES="api.bench.test registry.bench.test sentry.bench.test statsig.bench.test github.bench.test"
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends iptables ipset dnsutils sudo; \
    apt-get install -y --no-install-recommends ${NODE_PACKAGES} || \
        echo "startup.Dockerfile: the archive did not serve ${NODE_PACKAGES}: no Node" >&2; \
    rm -rf /var/lib/apt/lists/*; \
    useradd --create-home --uid 1000 --shell /bin/bash node

# palisade, as images/claude-code has it.
COPY --from=palisade /palisade /sbin/palisade
# The recipe: the container starts as node, and sudo runs init-firewall.sh.
COPY recipe/init-firewall.sh recipe/start-agent.sh recipe/docker-entrypoint.sh /opt/recipe/
COPY stamp /usr/local/bin/stamp
RUN set -eufx; \
    mkdir -p /etc/palisade /etc/recipe; \
    { printf '%s\n' ${NAMES}; printf 'private *.bench.test\n'; } > /etc/palisade/allow; \
    printf '%s\n' ${NAMES} > /etc/recipe/allow; \
    chmod 0644 /etc/palisade/allow /etc/recipe/allow; \
    printf 'node ALL=(root) NOPASSWD: /opt/recipe/init-firewall.sh\n' > /etc/sudoers.d/recipe; \
    chmod 0440 /etc/sudoers.d/recipe

COPY startup-tree.sh /tmp/startup-tree.sh
RUN bash /tmp/startup-tree.sh "${FILES}" /usr/local/lib/node_modules && rm /tmp/startup-tree.sh

ENV PALISADE_USER=node
ENTRYPOINT ["/sbin/palisade", "--"]
CMD ["/usr/local/bin/stamp"]
