#!/usr/bin/env bash
# CI: the Windows platform layer (WSAPoll poller, socket-pair signalers, Winsock calls,
# QueryPerformanceCounter clock) cross-compiled with mingw-w64 and its C-level tests
# (tests/platform/test_platform.c) run under wine. On Debian/Ubuntu runners:
#   sudo apt-get update && sudo apt-get install -y mingw-w64 wine
# Fails (does not skip) when the tools are missing: CI must really run it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
cleanup() {
    # the prefix's wineserver lingers after the program: wait for it before removing
    if [ -n "${WINEPREFIX:-}" ] && command -v wineserver >/dev/null; then wineserver -w || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
command -v x86_64-w64-mingw32-gcc >/dev/null || { echo "mingw-w64 missing" >&2; exit 1; }
wine="$(command -v wine || command -v wine64)" || { echo "wine missing" >&2; exit 1; }
x86_64-w64-mingw32-gcc -O1 -Wall -Werror -Wno-unused-function -I "$root/zmqx/_core" \
    "$root/tests/platform/test_platform.c" -o "$work/test_platform.exe" -lws2_32 -static
export WINEDEBUG=-all WINEPREFIX="${WINEPREFIX:-$work/wineprefix}"
"$wine" "$work/test_platform.exe" | tee "$work/out.txt"
grep -q "^all passed" "$work/out.txt"

# The Cython modules that use the platform layer, type-checked against the Windows headers.
# A check, not a build: there is no Windows Python here, so this Linux Python's headers
# stand in (with an empty sys/select.h, which Windows lacks). It catches what matters in our
# own C: undeclared calls, pointer and integer type mismatches with Winsock's prototypes.
mkdir -p "$work/cy/sys"
: > "$work/cy/sys/select.h"
pyinc="$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
for m in io_thread socket context pipe poll proxy; do
    (cd "$root" && cython -3 -I . -I zmqx/_core "zmqx/_core/$m.pyx" -o "$work/cy/$m.c" >/dev/null)
    x86_64-w64-mingw32-gcc -fsyntax-only -w -Werror=incompatible-pointer-types \
        -Werror=implicit-function-declaration -Werror=int-conversion \
        -I "$root/zmqx/_core" -I "$work/cy" -I "$pyinc" "$work/cy/$m.c"
    echo "ok   $m.pyx type-checks against the Windows headers"
done
