#!/usr/bin/env bash
# Builds every review/c/*.c against target/release/libgreenapi.a (plain and ASan+UBSan), as the
# Makefile builds tests/c. Run from the worktree root after `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/review
for f in review/c/*.c; do
    n=$(basename "$f" .c)
    cc -std=c99 -Wall -Wextra -pedantic -Iinclude -Itests/c -g -pthread "$f" \
        target/release/libgreenapi.a -lpthread -ldl -lm -lrt -lutil -lgcc_s -o "build/review/$n"
    cc -std=c99 -Wall -Wextra -pedantic -Iinclude -Itests/c -g -pthread \
        -fsanitize=address,undefined -fno-omit-frame-pointer "$f" \
        target/release/libgreenapi.a -lpthread -ldl -lm -lrt -lutil -lgcc_s -o "build/review/${n}_asan"
done
