#!/usr/bin/env bash
# make install into a scratch prefix (staged with DESTDIR, then copied as a package manager
# would), checks what landed there, and builds tests/install/ out of tree against it:
#   (a) C with pkg-config, shared library    (b) C and C++ with CMake (pkg_check_modules)
#   (c) C with pkg-config --static            (d) C++ (greenapi.hpp) with pkg-config
#   (e) a fully static C program (cc -static) with pkg-config --static
# Each program runs against the stand-in server. Needs cc, c++, cmake, pkg-config, readelf.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ga-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

CC=${CC:-cc}
CXX=${CXX:-c++}
prefix="$work/prefix"
stage="$work/stage"
failures=0
passed=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; passed=$((passed + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

version=$(sed -n 's/^version = "\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n 1)
soname="libgreenapi.so.${version%%.*}"

echo "=== make install PREFIX=$prefix DESTDIR=$stage"
make -C "$root" --no-print-directory install PREFIX="$prefix" DESTDIR="$stage"
# Everything under DESTDIR+PREFIX, nothing beside it.
check "DESTDIR: every file under DESTDIR/PREFIX" \
    test -z "$(find "$stage" \( -type f -o -type l \) ! -path "$stage$prefix/*")"
check "DESTDIR: nothing installed outside it" test ! -e "$prefix"
mkdir -p "$prefix"
cp -a "$stage$prefix/." "$prefix/"

lib="$prefix/lib"
check "libgreenapi.so -> $soname" test "$(readlink "$lib/libgreenapi.so")" = "$soname"
check "$soname -> libgreenapi.so.$version" test "$(readlink "$lib/$soname")" = "libgreenapi.so.$version"
check "libgreenapi.so.$version is a file" test -f "$lib/libgreenapi.so.$version" -a ! -L "$lib/libgreenapi.so.$version"
check "libgreenapi.a" test -f "$lib/libgreenapi.a"
check "soname is $soname" \
    grep -q "(SONAME).*\[$soname\]" <(readelf -d "$lib/libgreenapi.so.$version")
check "the shared library needs no libpython" \
    test -z "$(nm -D --undefined-only "$lib/libgreenapi.so.$version" | grep -w 'Py[A-Za-z_]*' || true)"
check "greenapi.h is include/greenapi.h" cmp -s "$root/include/greenapi.h" "$prefix/include/greenapi.h"
check "greenapi.hpp is include/greenapi.hpp" cmp -s "$root/include/greenapi.hpp" "$prefix/include/greenapi.hpp"
# The library built for development keeps no soname: programs linked to it find it by rpath.
check "target/release/libgreenapi.so has no soname" \
    test -z "$(readelf -d "$root/target/release/libgreenapi.so" 2>/dev/null | grep SONAME || true)"

export PKG_CONFIG_PATH="$lib/pkgconfig"
unset PKG_CONFIG_LIBDIR CPATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH LIBRARY_PATH LD_LIBRARY_PATH
pc="$lib/pkgconfig/greenapi.pc"
check "greenapi.pc validates" pkg-config --validate greenapi
check "greenapi.pc: prefix without DESTDIR" grep -qx "prefix=$prefix" "$pc"
check "pkg-config --modversion" test "$(pkg-config --modversion greenapi)" = "$version"
check "pkg-config --libs" test "$(pkg-config --libs greenapi | xargs)" = "-L$lib -lgreenapi"
check "Libs.private from native-static-libs" grep -Eq '^Libs.private: .*-lpthread' "$pc"
echo "--- $pc"
cat "$pc"

# Out of tree: the sources alone, nothing of the repository on any search path.
src="$work/src"
mkdir -p "$src"
cp "$root/tests/install/app.c" "$root/tests/install/app.cpp" "$root/tests/install/CMakeLists.txt" "$src/"
cd "$work"

needs() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
run() { "$root/scripts/with-standin.sh" -- "$@"; }

# shellcheck disable=SC2046 # pkg-config output is meant to be split into words
build_a() {
    "$CC" -std=c99 -Wall -Wextra -Werror -pedantic "$src/app.c" -o shared_pkgconfig \
        $(pkg-config --cflags --libs greenapi) -Wl,-rpath,"$(pkg-config --variable=libdir greenapi)"
}
echo "=== (a) pkg-config, shared"
if build_a; then
    check "(a) needs $soname" grep -qx "$soname" <(needs shared_pkgconfig)
    check "(a) runs against the stand-in" run ./shared_pkgconfig
else
    fail "(a) build"
fi

echo "=== (b) CMake, pkg_check_modules(IMPORTED_TARGET)"
if cmake -S "$src" -B cmake-build -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" >cmake.log 2>&1 &&
    cmake --build cmake-build >>cmake.log 2>&1; then
    check "(b) C needs $soname" grep -qx "$soname" <(needs cmake-build/app)
    check "(b) C runs against the stand-in" run cmake-build/app
    check "(b) C++ runs against the stand-in" run cmake-build/app_cpp
else
    cat cmake.log >&2
    fail "(b) CMake configure and build"
fi

# The static archive named explicitly: with libgreenapi.so beside it, -lgreenapi would pick the
# shared one. Libs.private brings what the Rust standard library needs.
# shellcheck disable=SC2046
build_c() {
    "$CC" -std=c99 -Wall -Wextra -Werror -pedantic "$src/app.c" -o static_pkgconfig \
        $(pkg-config --cflags greenapi) \
        $(pkg-config --static --libs greenapi | sed 's/-lgreenapi\b/-l:libgreenapi.a/')
}
echo "=== (c) pkg-config --static"
if build_c; then
    check "(c) needs no libgreenapi" test -z "$(needs static_pkgconfig | grep greenapi || true)"
    check "(c) runs against the stand-in" run ./static_pkgconfig
else
    fail "(c) build"
fi

# A fully static program (no libc.so either): the same recipe with -static. The unwinder is the
# compiler driver's choice (-lgcc_eh for -static, libgcc_s otherwise), so Libs.private names none.
# shellcheck disable=SC2046
build_e() {
    "$CC" -static -std=c99 -Wall -Wextra -Werror -pedantic "$src/app.c" -o fully_static \
        $(pkg-config --cflags greenapi) \
        $(pkg-config --static --libs greenapi | sed 's/-lgreenapi\b/-l:libgreenapi.a/') 2>static.log
}
echo "=== (e) pkg-config --static, cc -static"
if build_e; then
    check "(e) is a static executable" test -z "$(needs fully_static || true)"
    check "(e) runs against the stand-in" run ./fully_static
else
    cat static.log >&2
    fail "(e) build"
fi

# shellcheck disable=SC2046
build_d() {
    "$CXX" -std=c++17 -Wall -Wextra -Werror -pedantic "$src/app.cpp" -o cpp_pkgconfig \
        $(pkg-config --cflags --libs greenapi) -Wl,-rpath,"$(pkg-config --variable=libdir greenapi)"
}
echo "=== (d) C++ wrapper with pkg-config"
if build_d; then
    check "(d) runs against the stand-in" run ./cpp_pkgconfig
else
    fail "(d) build"
fi

echo "=== make uninstall"
make -C "$root" --no-print-directory uninstall PREFIX="$prefix" >/dev/null
check "uninstall leaves no file" test -z "$(find "$prefix" -type f -o -type l)"

echo "test-install: $passed passed, $failures failed"
[ "$failures" = 0 ]
