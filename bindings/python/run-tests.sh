#!/usr/bin/env bash
# Builds the greenapi Python module into $ROOT/.venv and runs its pytest suite.
# Usage: bindings/python/run-tests.sh [--install-only | extra pytest args]
#   --install-only   build the module into the venv and stop (used by `make demo`)
# Works non-interactively (CI=true, no stdin). Needs python3 and cargo on PATH.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${GREENAPI_VENV:-$ROOT/.venv}"
PY3="${PYTHON:-python3}"

log() { printf '[run-tests] %s\n' "$*" >&2; }

# A venv needs the venv module and ensurepip; Debian ships them apart, in python3-venv.
if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PY3" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        log "python3-venv is missing; installing it with apt-get"
        SUDO=""
        if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv </dev/null
    fi
    log "creating $VENV"
    "$PY3" -m venv "$VENV"
fi

PY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

log "installing maturin, pytest, mypy, ruff"
# ruff within one minor release: a newer one may add checks, which should come as a change here.
"$PY" -m pip install -q 'maturin>=1.5,<2' 'pytest>=7' 'mypy>=1.8' 'ruff>=0.17,<0.18' </dev/null

# maturin develop builds the extension and installs the package into the venv (the same
# wheel contents `pip install ./bindings/python` produces, without pip's isolated rebuild).
log "building the extension (maturin develop --release)"
(
    export VIRTUAL_ENV="$VENV"
    # bindings/python/target, the default of this package (and pip's build): said here too so
    # that a CARGO_TARGET_DIR in the environment cannot put the module next to the C library.
    export CARGO_TARGET_DIR="${GREENAPI_PY_TARGET_DIR:-$HERE/target}"
    export PATH="$VENV/bin:$PATH"
    unset CONDA_PREFIX || true
    cd "$HERE"
    "$VENV/bin/maturin" develop --release --quiet </dev/null
)

if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi

# Its settings are [tool.ruff] in pyproject.toml, found from bindings/python.
log "running ruff check"
(cd "$HERE" && "$VENV/bin/ruff" check --quiet --no-cache python tests examples </dev/null)

log "running pytest"
cd "$ROOT"
exec "$PY" -m pytest "$HERE/tests" -q "$@" </dev/null
