# The ci-smoke image plus the test probe, for the end-to-end tests.
ARG SMOKE=palisade/ci-smoke
FROM ${SMOKE}
COPY palisade-probe /bin/probe
