#!/bin/bash
# The recipe's second script (see init-firewall.sh): runs as the agent's
# user, sets up the agent's environment and runs the agent's command.
set -eu
trap 'echo "$0: line $LINENO: \"$BASH_COMMAND\" failed (status $?)" >&2' ERR
export HOME=${AGENT_HOME:-/tmp}
cd "$HOME"
exec "$@"
