#!/usr/bin/env bash
# Extracts the C example from README.md into a file, failing loudly if it is not there.
#
#   scripts/extract-readme-example.sh README.md OUT.c [MARKER]
#
# Contract: README.md holds a line `<!-- MARKER -->` (default MARKER: example-c), then a fenced
# ```c (or ```cpp) block holding a complete program with main(), then a line `<!-- /MARKER -->`. The program reads
# GREEN_API_ID_INSTANCE, GREEN_API_TOKEN and GREEN_API_URL from the environment, takes no
# arguments, and exits 0 against the stand-in server.
set -euo pipefail
readme=${1:?README path}
out=${2:?output path}
marker=${3:-example-c}

[ -f "$readme" ] || { echo "extract-readme-example: $readme does not exist" >&2; exit 1; }
grep -q "^<!-- $marker -->[[:space:]]*\$" "$readme" ||
    { echo "extract-readme-example: no '<!-- $marker -->' line in $readme" >&2; exit 1; }
grep -q "^<!-- /$marker -->[[:space:]]*\$" "$readme" ||
    { echo "extract-readme-example: no '<!-- /$marker -->' line in $readme" >&2; exit 1; }

# Between the markers, keep the lines inside the first ```c (or ```cpp) fence.
awk -v opening="<!-- $marker -->" -v closing="<!-- /$marker -->" '
    { line = $0; sub(/[[:space:]]+$/, "", line) }
    line == opening { between = 1; next }
    line == closing { between = 0; next }
    between && !done && !infence && /^```(c|cpp)[[:space:]]*$/ { infence = 1; fenced = 1; next }
    between && infence && /^```[[:space:]]*$/ { infence = 0; done = 1; next }
    infence { print }
    END { if (!fenced || infence) exit 1 }
' "$readme" >"$out.tmp" || {
    rm -f "$out.tmp"
    echo "extract-readme-example: no complete \`\`\`c or \`\`\`cpp block between the markers in $readme" >&2
    exit 1
}
grep -q 'main[[:space:]]*(' "$out.tmp" ||
    { rm -f "$out.tmp"; echo "extract-readme-example: the README example has no main()" >&2; exit 1; }
mv "$out.tmp" "$out"
echo "extract-readme-example: $(wc -l <"$out") lines -> $out"
