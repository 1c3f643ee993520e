#!/usr/bin/env bash
# Runs C test programs, each against its own fresh stand-in server, and summarises.
#
#   scripts/run-c-tests.sh [--wrap "CMD ARGS"] PROGRAM...
#
# --wrap runs each program under a wrapper (e.g. valgrind with its options).
# Every program is run even after a failure; the exit status is 1 if any failed.
# A program that runs longer than GA_TEST_TIMEOUT seconds (default 300) is killed and fails,
# so a hang (a deadlock in the library, say) cannot stall CI.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wrap=()
if [ "${1:-}" = "--wrap" ]; then
    read -r -a wrap <<<"$2"
    shift 2
fi
[ $# -gt 0 ] || { echo "usage: $0 [--wrap CMD] PROGRAM..." >&2; exit 2; }

passed=()
failed=()
for prog in "$@"; do
    name=$(basename "$prog")
    echo "=== $name${wrap:+ (under ${wrap[0]})}"
    start=$(date +%s)
    # A program about downloads gets the CDN stand-in as well.
    cdn=()
    case "$name" in *download*) cdn=(--cdn) ;; esac
    if "$root/scripts/with-standin.sh" "${cdn[@]}" -- \
        timeout --kill-after=10 "${GA_TEST_TIMEOUT:-300}" "${wrap[@]}" "$prog"; then
        passed+=("$name")
        echo "=== $name: PASS ($(( $(date +%s) - start ))s)"
    else
        rc=$?
        failed+=("$name")
        echo "=== $name: FAIL (exit $rc, $(( $(date +%s) - start ))s)"
    fi
done
echo "=== ${#passed[@]} passed, ${#failed[@]} failed${failed:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
