#!/usr/bin/env bash
# make docs: the API reference into build/docs/ (make docs-check in make test: any warning fails).
#   build/docs/rust/    rustdoc of the crate (RUSTDOCFLAGS=-Dwarnings; lib.rs denies missing docs)
#   build/docs/c/       Doxygen over include/greenapi.h (docs/reference/Doxyfile, warnings are errors)
#   build/docs/python/  pdoc over the installed package and its stubs (scripts/python-docs.py)
#   build/docs/index.html, linking the three.
# Needs the venv with the module built (make venv); installs doxygen (Debian) and pdoc (into the
# venv) when missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GREENAPI_VENV:-$ROOT/.venv}"
OUT="$ROOT/build/docs"
VERSION="$(sed -n 's/^version = "\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1)"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
log() { printf '[docs] %s\n' "$*" >&2; }
cd "$ROOT"

[ -x "$VENV/bin/python" ] || { echo "build-docs.sh: no venv at $VENV: run make venv" >&2; exit 1; }
if ! command -v doxygen >/dev/null 2>&1; then
    log "installing doxygen with apt-get"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq doxygen </dev/null
fi
# One major version: scripts/python-docs.py replaces pdoc's stub loader (a private function).
"$VENV/bin/python" -c 'import pdoc, sys; sys.exit(pdoc.__version__.split(".")[0] != "16")' 2>/dev/null || {
    log "installing pdoc into $VENV"
    "$VENV/bin/python" -m pip install -q 'pdoc>=16,<17' </dev/null
}

rm -rf "$OUT"
mkdir -p "$OUT/c" "$OUT/python"

log "rustdoc (warnings are errors)"
RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -D warnings" cargo doc --no-deps --quiet
cp -r target/doc "$OUT/rust"

# Doxygen must be able to fail: the same configuration over a copy of the header with one
# undocumented function must be refused, else a warning would pass unseen.
log "doxygen: an undocumented declaration fails the build"
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
mkdir -p "$probe/include" "$probe/docs/reference" "$probe/out"
cp docs/reference/greenapi-h.dox "$probe/docs/reference/"
sed 's|^#endif *\/\* GREENAPI_H \*\/|void ga_undocumented_probe(void);\n&|' include/greenapi.h >"$probe/include/greenapi.h"
grep -q ga_undocumented_probe "$probe/include/greenapi.h" ||
    { echo "build-docs.sh: could not plant the probe in the header copy" >&2; exit 1; }
if (cd "$probe" && GA_DOCS_VERSION="$VERSION" GA_DOCS_C_OUT="$probe/out" \
        doxygen "$ROOT/docs/reference/Doxyfile" >"$probe/log" 2>&1); then
    echo "build-docs.sh: doxygen accepted an undocumented function" >&2; exit 1
fi
grep -q "ga_undocumented_probe" "$probe/log" ||
    { cat "$probe/log" >&2; echo "build-docs.sh: doxygen failed for another reason" >&2; exit 1; }

log "doxygen over include/greenapi.h (warnings are errors)"
GA_DOCS_VERSION="$VERSION" GA_DOCS_C_OUT="$OUT/c" doxygen docs/reference/Doxyfile

log "pdoc over the installed greenapi package and its stubs"
# From a scratch directory: the installed package, never the source tree, is documented.
(cd "$probe" && "$VENV/bin/python" "$ROOT/scripts/python-docs.py" "$OUT/python")

cat >"$OUT/index.html" <<HTML
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>greenapi $VERSION: API reference</title></head>
<body>
<h1>greenapi $VERSION: API reference</h1>
<ul>
<li><a href="rust/greenapi/index.html">Rust</a>: the crate (rustdoc)</li>
<li><a href="c/greenapi_8h.html">C</a>: include/greenapi.h (Doxygen); the C++17 wrapper
include/greenapi.hpp is a thin layer over it</li>
<li><a href="python/greenapi.html">Python</a>: the greenapi package
(<a href="python/greenapi/_native.html">greenapi._native</a>: the classes, with their stubs' types)</li>
</ul>
</body>
</html>
HTML
for page in rust/greenapi/index.html c/greenapi_8h.html python/greenapi.html python/greenapi/_native.html; do
    [ -s "$OUT/$page" ] || { echo "build-docs.sh: $OUT/$page is missing" >&2; exit 1; }
done
log "ok: $OUT/index.html"
