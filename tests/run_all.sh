#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as errors and
# ASan/UBSan, and runs every test with ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/tests/install_deps.sh"
build="${WEIR_TEST_BUILD_DIR:-$root/build-test}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEIR_WERROR=ON -DWEIR_SANITIZE=ON
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd "$build"
ctest --output-on-failure --timeout 900 "$@"
