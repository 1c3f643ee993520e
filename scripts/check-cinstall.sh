#!/usr/bin/env bash
# make check-cinstall: `cargo cinstall` (cargo-c, per Cargo.toml's [package.metadata.capi]) and
# `make install` into two scratch prefixes, compared file by file: the same names and kinds
# (a file, or a link and the file it ends at), the headers byte for byte, each library by its
# soname and the ga_* symbols it defines, greenapi.pc field by field. Prints every difference
# and exits 1 on any but the one known (-lgcc_s, below).
# Installs cargo-c from crates.io when missing (a few minutes of build, once): the newest
# cargo-c that the toolchain here (rustc 1.95) can build.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ga-cinstall.XXXXXX")
trap 'rm -rf "$work"' EXIT
CARGO_C_VERSION=${CARGO_C_VERSION:-=0.10.24+cargo-0.98.0}
prefix=/usr/local

cargo cinstall --version >/dev/null 2>&1 || {
    echo "installing cargo-c $CARGO_C_VERSION from crates.io"
    cargo install cargo-c --locked --version "$CARGO_C_VERSION"
}

echo "=== make install PREFIX=$prefix DESTDIR=$work/make"
make -C "$root" --no-print-directory install PREFIX="$prefix" DESTDIR="$work/make" >/dev/null
echo "=== cargo cinstall --prefix=$prefix --libdir=$prefix/lib --destdir=$work/cargo-c"
# A target dir of its own: cargo-c's build must not replace make install's in target/<host>.
(cd "$root" && cargo cinstall --release --prefix="$prefix" --libdir="$prefix/lib" \
    --destdir="$work/cargo-c" --target-dir="$root/target/cinstall")

listing() { (cd "$1" && find . -mindepth 1 \( -type f -printf '%p file\n' \) -o \( -type l -printf '%p link -> %l\n' \) | sort); }
differences=0
differ() { echo "DIFFERENT: $*"; differences=$((differences + 1)); }

# A link is compared by the file it ends at: make install points libgreenapi.so at the soname
# link, cargo-c at the versioned file; both reach the same library.
resolved() { (cd "$1" && find . -mindepth 1 \( -type f -printf '%p file\n' \) -o \( -type l -printf '%p link\n' \) | sort |
    while read -r p k; do
        if [ "$k" = link ]; then echo "$p link to $(realpath --relative-to="$1" "$1/$p")"; else echo "$p file"; fi
    done); }
if ! diff <(resolved "$work/make") <(resolved "$work/cargo-c") >"$work/list.diff"; then
    differ "the installed files (< make install, > cargo cinstall):"
    sed 's/^/    /' "$work/list.diff"
fi
diff <(listing "$work/make") <(listing "$work/cargo-c") >"$work/links.diff" || {
    echo "note: links with other targets, ending at the same file (< make install, > cargo cinstall):"
    sed 's/^/    /' "$work/links.diff"
}

symbols() { nm --defined-only "$@" 2>/dev/null | awk '$2 ~ /^[TDBR]$/ && $3 ~ /^ga_/ {print $3}' | sort -u; }
while read -r path kind _; do
    [ "$kind" = file ] || continue
    a="$work/make/$path" b="$work/cargo-c/$path"
    [ -f "$b" ] || continue
    case "$path" in
        *.h | *.hpp)
            cmp -s "$a" "$b" && echo "same: $path" || differ "$path: contents" ;;
        *.pc)
            # The same fields, in any order and spacing. One difference is known: cargo-c's
            # Libs.private keeps rustc's -lgcc_s, which make install drops so that a fully static
            # link (cc -static, which has no libgcc_s) works; see the Makefile's install target.
            pc() { tr -s ' ' <"$1" | sed 's/ *$//' | sort; }
            pc "$b" >"$work/cargo-c.pc"
            if grep -q '^Libs.private: .*-lgcc_s' "$work/cargo-c.pc"; then
                echo "known difference: $path: cargo-c's Libs.private keeps -lgcc_s, which make install drops for cc -static (see the Makefile)"
                sed -i '/^Libs.private:/s/ *-lgcc_s\b//; s/^Libs.private:  */Libs.private: /' "$work/cargo-c.pc"
            fi
            pc "$a" | sed 's/^Libs.private:  */Libs.private: /' >"$work/make.pc"
            if diff "$work/make.pc" "$work/cargo-c.pc" >"$work/pc.diff"; then echo "same: $path (but the above)"; else
                differ "$path (< make install, > cargo cinstall):"; sed 's/^/    /' "$work/pc.diff"; fi ;;
        *.so*)
            sa=$(readelf -d "$a" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
            sb=$(readelf -d "$b" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
            [ "$sa" = "$sb" ] || differ "$path: soname $sa vs $sb"
            if diff <(symbols -D "$a") <(symbols -D "$b") >"$work/sym.diff"; then
                echo "same: $path (soname $sa, $(symbols -D "$a" | wc -l) ga_ symbols)"
            else differ "$path: exported symbols"; sed 's/^/    /' "$work/sym.diff"; fi ;;
        *.a)
            if diff <(symbols "$a") <(symbols "$b") >"$work/sym.diff"; then
                echo "same: $path ($(symbols "$a" | wc -l) ga_ symbols)"
            else differ "$path: defined symbols"; sed 's/^/    /' "$work/sym.diff"; fi ;;
        *) cmp -s "$a" "$b" && echo "same: $path" || differ "$path: contents" ;;
    esac
done < <(listing "$work/make")

if [ "$differences" = 0 ]; then
    echo "check-cinstall: cargo cinstall installs what make install does"
else
    echo "check-cinstall: $differences difference(s) between cargo cinstall and make install" >&2
    exit 1
fi
