#!/usr/bin/env bash
# `make bench`: installs what the benchmark needs (nginx, libcurl's headers, tinyproxy from
# Debian's packages; requests, the official client and matplotlib into build/bench/venv, never
# into the system), builds the C library and the Python module, then runs bench/run.py and
# bench/latency.py and bench/deployment.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/build/bench/venv"
log() { printf '[bench] %s\n' "$*" >&2; }

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v curl-config >/dev/null 2>&1 || missing+=(libcurl4-openssl-dev)
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/sbin/tinyproxy ] || missing+=(tinyproxy)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} with apt-get"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" </dev/null
fi
export PATH="$PATH:/usr/sbin"
# Debian starts the nginx service on install; the benchmark runs its own on other ports.

mkdir -p "$ROOT/build/bench"
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$VENV/bin/python" -m pip install -q requests whatsapp-api-client-python matplotlib </dev/null

log "building the C library and the Python module (release)"
(cd "$ROOT" && cargo build --release --quiet)
GREENAPI_VENV="$VENV" bash "$ROOT/bindings/python/run-tests.sh" --install-only

# BENCH_ONLY=loopback, latency, scale or deployment runs that part alone (bench/run.py,
# bench/latency.py, bench/scale.py, bench/deployment.py).
only="${BENCH_ONLY:-}"
if [ -z "$only" ] || [ "$only" = loopback ]; then
    "$VENV/bin/python" "$ROOT/bench/run.py"
fi
if [ -z "$only" ] || [ "$only" = latency ]; then
    "$VENV/bin/python" "$ROOT/bench/latency.py"
fi
if [ -z "$only" ] || [ "$only" = scale ]; then
    "$VENV/bin/python" "$ROOT/bench/scale.py"
fi
if [ -z "$only" ] || [ "$only" = deployment ]; then
    "$VENV/bin/python" "$ROOT/bench/deployment.py"
fi
