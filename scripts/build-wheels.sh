#!/usr/bin/env bash
# make wheels: the release's wheels into build/wheels/, each checked with auditwheel.
#   greenapi-V-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl  (glibc 2.17 or later)
#   greenapi-V-cp39-abi3-musllinux_1_2_x86_64.whl                        (musl 1.2 or later)
# Linked with zig (ziglang from PyPI, as maturin's --zig does: no container, no old sysroot),
# against glibc 2.17's symbol versions. Needs the venv (make venv) and rustup's musl target,
# which it adds when missing. GREENAPI_WHEELS=manylinux builds only the first.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GREENAPI_VENV:-$ROOT/.venv}"
OUT="$ROOT/build/wheels"
PY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

log() { printf '[wheels] %s\n' "$*" >&2; }

[ -x "$PY" ] || { echo "build-wheels.sh: no venv at $VENV: run make venv" >&2; exit 1; }
log "installing ziglang and auditwheel into $VENV"
"$PY" -m pip install -q 'ziglang>=0.13' 'auditwheel>=6' </dev/null

which="${GREENAPI_WHEELS:-manylinux musllinux}"
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$ROOT/bindings/python"
export PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV"
unset CONDA_PREFIX CARGO_BUILD_TARGET || true
export CARGO_TARGET_DIR="$ROOT/bindings/python/target"

# build TAG TARGET POLICY: one wheel, then auditwheel's verdict on it. The policy must be the
# one asked for, and the wheel may need no library outside the policy's own (libc and friends).
build() {
    local tag=$1 target=$2 policy=$3
    local dir="$OUT/.$tag"
    log "maturin build --release --zig --target $target --compatibility $tag"
    maturin build --release --zig --target "$target" --compatibility "$tag" --out "$dir" </dev/null
    local wheels=("$dir"/*.whl)
    [ "${#wheels[@]}" = 1 ] || { echo "expected one wheel in $dir: ${wheels[*]}" >&2; exit 1; }
    local wheel=${wheels[0]}
    local show
    show="$(auditwheel show "$wheel")"
    printf '%s\n' "$show"
    # auditwheel wraps its text: join the lines before looking for the verdict.
    local flat
    flat="$(printf '%s ' $show)"
    case "$flat" in
        *"is consistent with the following platform tag: \"$policy\""*) ;;
        *) echo "build-wheels.sh: $(basename "$wheel") is not $policy" >&2; exit 1 ;;
    esac
    case "$flat" in
        *"external shared libraries"*)
            echo "build-wheels.sh: $(basename "$wheel") needs a library outside the policy" >&2; exit 1 ;;
    esac
    mv "$wheel" "$OUT/"
    rmdir "$dir"
    log "ok: $OUT/$(basename "$wheel")"
}

for w in $which; do
    case "$w" in
        manylinux) build manylinux2014 x86_64-unknown-linux-gnu manylinux_2_17_x86_64 ;;
        musllinux)
            rustup target list --installed | grep -qx x86_64-unknown-linux-musl ||
                rustup target add x86_64-unknown-linux-musl
            build musllinux_1_2 x86_64-unknown-linux-musl musllinux_1_2_x86_64 ;;
        *) echo "build-wheels.sh: unknown wheel kind $w" >&2; exit 2 ;;
    esac
done
ls -l "$OUT"
