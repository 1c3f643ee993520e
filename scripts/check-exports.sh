#!/usr/bin/env bash
# The shared library exports exactly the functions the header declares (no more, no fewer),
# and it is the C build: no Python (pyo3) symbols, which appear when maturin has overwritten
# target/release/libgreenapi.so with the `python`-feature build.
#
#   scripts/check-exports.sh include/greenapi.h target/release/libgreenapi.so
set -euo pipefail
header=${1:?header}
so=${2:?shared library}

declared=$(grep -oE '\bga_[a-z_]+\(' "$header" | tr -d '(' | sort -u)
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TtWiV]$/ {print $3}' | sort -u)
status=0
if [ "$declared" != "$exported" ]; then
    echo "check-exports: $so and $header disagree:" >&2
    diff <(echo "$declared") <(echo "$exported") | sed -n 's/^</  declared, not exported:/p; s/^>/  exported, not declared:/p' >&2
    status=1
fi
if nm -D --undefined-only "$so" | grep -q ' Py'; then
    echo "check-exports: $so needs Python symbols: it is the python-feature build" \
        "(maturin overwrote it); run 'make lib'" >&2
    status=1
fi
[ $status = 0 ] && echo "check-exports: $(echo "$declared" | wc -l) functions, exports match the header"
exit $status
