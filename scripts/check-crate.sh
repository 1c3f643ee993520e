#!/usr/bin/env bash
# make check-crate: `cargo package --list` (what crates.io would get) holds the sources, the
# build script, the headers, the README, changelog and both licences, and nothing of the
# repository's own checks (tests, fuzzing, benchmarks, bindings, scripts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

list="$(cargo package --list --allow-dirty --quiet 2>/dev/null)"
status=0
for f in Cargo.toml Cargo.lock build.rs cbindgen.toml README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE \
         include/greenapi.h include/greenapi.hpp src/lib.rs src/ffi/mod.rs; do
    grep -qx "$f" <<<"$list" || { echo "check-crate: $f is not in the package" >&2; status=1; }
done
# Every Rust source under src/ is packaged (a module file left out would break the build).
while IFS= read -r f; do
    grep -qx "$f" <<<"$list" || { echo "check-crate: $f is not in the package" >&2; status=1; }
done < <(git ls-files 'src/*.rs' 'src/**/*.rs')
if grep -E '^(tests|fuzz|bench|bindings|scripts|docs|examples|\.ci)/' <<<"$list" >&2; then
    echo "check-crate: the files above are the repository's, not the crate's" >&2
    status=1
fi
[ "$status" = 0 ] && echo "check-crate: $(wc -l <<<"$list") files, as expected"
exit $status
