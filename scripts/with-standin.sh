#!/usr/bin/env bash
# Runs a command with the stand-in GetAvatar server listening on a free loopback port.
#
#   scripts/with-standin.sh [--token TOKEN] [--cdn] -- COMMAND [ARGS...]
#
# --cdn also starts the picture CDN stand-in (tests/standin/cdn.py, HTTPS with a CA of its own)
# and makes the GetAvatar stand-in's links point at it (--cdn-base), exporting as well
#   GA_TEST_CDN_URL=https://127.0.0.1:PORT   GA_TEST_CDN_CA=<its CA's PEM file>
#   GA_TEST_CDN_LOG=<the file where it records every request line and header>
#   GREEN_API_CA_FILE / GREEN_API_DOWNLOAD_HOSTS=127.0.0.1 (for the command line and examples)
#
# Exports for COMMAND:
#   GA_TEST_URL=http://127.0.0.1:PORT   GA_TEST_TOKEN=TOKEN   GA_TEST_ID=1101000001
#   GREEN_API_URL / GREEN_API_TOKEN / GREEN_API_ID_INSTANCE (the same values, for examples)
# The server is stopped when COMMAND ends, also on failure or interruption; COMMAND's exit
# status is returned.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
token=standin-token-0123456789abcdef
cdn=
while [ $# -gt 0 ]; do
    case "$1" in
        --token) token=$2; shift 2 ;;
        --cdn) cdn=1; shift ;;
        --) shift; break ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--token TOKEN] -- COMMAND [ARGS...]" >&2; exit 2; }

server="$root/tests/standin/server.py"
[ -f "$server" ] || { echo "with-standin: $server is missing" >&2; exit 2; }

workdir=$(mktemp -d "${TMPDIR:-/tmp}/ga-standin.XXXXXX")
pid=
cdn_pid=
cleanup() {
    if [ -n "$cdn_pid" ] && kill -0 "$cdn_pid" 2>/dev/null; then
        kill -TERM "$cdn_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$cdn_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$cdn_pid" 2>/dev/null || true
        wait "$cdn_pid" 2>/dev/null || true
    fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cdn_args=()
if [ -n "$cdn" ]; then
    python3 "$root/tests/standin/cdn.py" --cert-dir "$workdir/cdn" --port-file "$workdir/cdn-port" \
        --log "$workdir/cdn-log" >"$workdir/cdn-stdout" 2>"$workdir/cdn-stderr" </dev/null &
    cdn_pid=$!
    for _ in $(seq 100); do
        [ -s "$workdir/cdn-port" ] && break
        kill -0 "$cdn_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -s "$workdir/cdn-port" ]; then
        echo "with-standin: the CDN stand-in did not start" >&2
        cat "$workdir/cdn-stderr" >&2 || true
        exit 2
    fi
    cdn_port=$(tr -d '[:space:]' <"$workdir/cdn-port")
    export GA_TEST_CDN_URL="https://127.0.0.1:$cdn_port" GA_TEST_CDN_CA="$workdir/cdn/ca.pem"
    export GA_TEST_CDN_LOG="$workdir/cdn-log"
    export GREEN_API_CA_FILE="$GA_TEST_CDN_CA" GREEN_API_DOWNLOAD_HOSTS=127.0.0.1
    cdn_args=(--cdn-base "$GA_TEST_CDN_URL")
fi

python3 "$server" --host 127.0.0.1 --port 0 --port-file "$workdir/port" --token "$token" \
    "${cdn_args[@]}" >"$workdir/stdout" 2>"$workdir/stderr" </dev/null &
pid=$!
for _ in $(seq 100); do
    [ -s "$workdir/port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [ ! -s "$workdir/port" ]; then
    echo "with-standin: the stand-in server did not start" >&2
    cat "$workdir/stderr" >&2 || true
    exit 2
fi
port=$(tr -d '[:space:]' <"$workdir/port")

export GA_TEST_URL="http://127.0.0.1:$port" GA_TEST_TOKEN="$token" GA_TEST_ID=1101000001
export GREEN_API_URL="$GA_TEST_URL" GREEN_API_TOKEN="$token" GREEN_API_ID_INSTANCE=1101000001
# The tests talk to loopback only; make sure no proxy setting could redirect them.
unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

status=0
"$@" || status=$?
if [ -s "$workdir/stderr" ]; then
    echo "--- stand-in server stderr ---" >&2
    cat "$workdir/stderr" >&2
fi
exit "$status"
