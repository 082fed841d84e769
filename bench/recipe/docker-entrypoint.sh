#!/bin/bash
# The recipe's container entrypoint, for bench/startup.sh: the container
# starts as the agent's user (node), as published devcontainer recipes run
# it, and sudo (a sudoers entry for init-firewall.sh alone) runs
# init-firewall.sh as root, which fences the container in and drops back to
# node to run the agent's command.
#
#   docker-entrypoint.sh COMMAND [ARG...]
set -eu
trap 'echo "$0: line $LINENO: \"$BASH_COMMAND\" failed (status $?)" >&2' ERR
exec sudo /opt/recipe/init-firewall.sh /etc/recipe/allow "$(id -u)" "$@"
