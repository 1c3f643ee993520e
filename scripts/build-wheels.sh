#!/usr/bin/env bash
# make wheels: the release's wheels into build/wheels/, each checked (auditwheel for manylinux).
#   greenapi-V-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl  (glibc 2.17 or later)
#   greenapi-V-cp39-abi3-musllinux_1_2_x86_64.whl                        (musl 1.2 or later)
# Linked with zig (ziglang from PyPI, as maturin's --zig does: no container, no old sysroot),
# against glibc 2.17's symbol versions. Needs the venv (make venv) and rustup's musl target,
# which it adds when missing, and Debian's musl (its loader checks the musl wheel).
# GREENAPI_WHEELS=manylinux builds only the first.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GREENAPI_VENV:-$ROOT/.venv}"
OUT="$ROOT/build/wheels"
PY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

log() { printf '[wheels] %s\n' "$*" >&2; }

[ -x "$PY" ] || { echo "build-wheels.sh: no venv at $VENV: run make venv" >&2; exit 1; }
log "installing ziglang, auditwheel and twine into $VENV"
"$PY" -m pip install -q 'ziglang>=0.13' 'auditwheel>=6' 'twine>=5' </dev/null

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
    case "$(basename "$wheel")" in
        *"-cp39-abi3-"*"$policy"*.whl) ;;
        *) echo "build-wheels.sh: $(basename "$wheel") is not an abi3 $policy wheel" >&2; exit 1 ;;
    esac
    # Both licence texts travel with the binary (the MIT licence asks for it).
    local listing
    listing="$("$PY" -m zipfile -l "$wheel")"
    for l in LICENSE-MIT LICENSE-APACHE; do
        grep -q "\.dist-info/licenses/$l " <<<"$listing" ||
            { echo "build-wheels.sh: $(basename "$wheel") lacks $l" >&2; exit 1; }
    done
    if [ "$tag" = musllinux_1_2 ]; then
        check_musl "$wheel"
        mv "$wheel" "$OUT/"
        rmdir "$dir"
        log "ok: $OUT/$(basename "$wheel") (not run: no musl Python here)"
        return
    fi
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

# auditwheel cannot judge a musl wheel on a glibc machine (it looks the wheel's libc up among
# glibc's files and fails on the libc.so linker script), so the check is done by hand: the one
# library the extension may need is musl's libc (zig names it libc.so, which musl's dynamic
# linker takes to be itself), no glibc symbol version may appear, and musl's loader must
# resolve everything but Python's own symbols.
check_musl() {
    local wheel=$1 tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && "$PY" -m zipfile -e "$wheel" .)
    local so="$tmp/greenapi/_native.abi3.so"
    [ -f "$so" ] || { echo "build-wheels.sh: no greenapi/_native.abi3.so in $wheel" >&2; exit 1; }
    local needed
    needed="$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u | tr '\n' ' ')"
    log "musl wheel needs: $needed"
    for lib in $needed; do
        case "$lib" in
            libc.so | libc.musl-x86_64.so.1) ;;
            *) echo "build-wheels.sh: the musl wheel needs $lib" >&2; exit 1 ;;
        esac
    done
    if readelf -V "$so" | grep -q GLIBC_; then
        echo "build-wheels.sh: the musl wheel refers to glibc symbol versions" >&2; exit 1
    fi
    # musl's own dynamic linker (Debian's musl package) loads the extension: every symbol it
    # cannot find must be Python's C API (there is no musl CPython here to load it into).
    if [ ! -x /lib/ld-musl-x86_64.so.1 ]; then
        log "installing musl (its dynamic linker) with apt-get"
        local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl </dev/null
    fi
    local loaded missing
    loaded="$(/lib/ld-musl-x86_64.so.1 --list "$so" 2>&1 || true)"
    grep -q "libc.so => /lib/ld-musl-x86_64.so.1" <<<"$loaded" ||
        { printf '%s\n' "$loaded" >&2; echo "build-wheels.sh: musl did not load the extension" >&2; exit 1; }
    missing="$(grep "symbol not found" <<<"$loaded" | grep -Ev ": _?Py[A-Za-z0-9_]*: symbol not found$" || true)"
    [ -z "$missing" ] ||
        { printf '%s\n' "$missing" >&2; echo "build-wheels.sh: musl lacks symbols the wheel needs" >&2; exit 1; }
    log "musl's loader resolves every symbol but Python's ($(grep -c "symbol not found" <<<"$loaded") of those)"
    rm -rf "$tmp"
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
# What PyPI would say of the metadata (the README renders, the fields are valid).
twine check --strict "$OUT"/*.whl
ls -l "$OUT"
