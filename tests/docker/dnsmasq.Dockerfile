# A resolver for the end-to-end tests: dnsmasq, answering from a hosts
# file the test changes, and logging every query it gets.
ARG BASE=palisade-test/bookworm
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends dnsmasq-base \
    && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--user=root", \
            "--addn-hosts=/hosts/hosts", "--local-ttl=1", "--local=/test/", "--log-queries", \
            "--log-facility=-"]
