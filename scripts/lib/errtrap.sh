# Sourced by every script that runs under `set -e` (after the set line):
# when a command stops the script, says which file, line and command, and
# with what status, e.g.
#
#   scripts/docker-engine.sh: line 28: "sed -n ... /etc/apt/sources.list" failed (status 2)
#
# errtrace (set -E) passes the trap on to functions, command substitutions
# and subshells. Bash runs no ERR trap for a command whose failure is
# expected (the condition of if, while or until, any command of a && or ||
# list but the last, a command after !), and the trap stays silent where
# errexit is off (a command substitution, which bash runs without it), so
# it speaks only when the failure ends the script or the subshell it ran in.
# Scripts that must stand alone (bench/recipe/) write the same trap inline.
set -E
errtrap_report() { # errtrap_report STATUS PIPESTATUS LINE COMMAND
    [[ $- == *e* ]] || return 0
    local file=${BASH_SOURCE[1]:-$0} pipe=""
    [[ $2 == *' '* ]] && pipe="; pipeline statuses: $2"
    if [ "$file" = "$0" ]; then
        printf '%s: line %s: "%s" failed (status %s%s)\n' "$file" "$3" "$4" "$1" "$pipe" >&2
    else
        printf '%s: %s: line %s: "%s" failed (status %s%s)\n' "$0" "$file" "$3" "$4" "$1" "$pipe" >&2
    fi
}
trap 'errtrap_report "$?" "${PIPESTATUS[*]}" "$LINENO" "$BASH_COMMAND"' ERR
