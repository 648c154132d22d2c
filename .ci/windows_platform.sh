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
