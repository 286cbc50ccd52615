#!/usr/bin/env bash
# Cross-builds weir for a Raspberry Pi class target on a Debian 12 (bookworm) x86_64 host.
#
#   bash cross/build.sh aarch64 [--test]   # Pi 4/5, 64-bit OS
#   bash cross/build.sh armhf   [--test]   # Pi 2/3, 32-bit OS (ARMv7 hard-float)
#
# Installs only what is missing (cross compiler, qemu-user-static, the target libraries),
# configures (Release, WEIR_WERROR=ON, no benchmarks), builds, and with --test runs the unit
# tests under qemu. Prints how long each phase took.
#
# Environment:
#   WEIR_CROSS_BUILD_DIR  build directory (default build-cross-TARGET in the source tree)
#   WEIR_SYSROOT          armhf sysroot (default /tmp/weir-sysroot-armhf)
#   WEIR_CROSS_OVERLAY    aarch64: where libsimdjson-dev:arm64 is unpacked (default
#                         /tmp/weir-overlay-arm64; see below)
#   WEIR_WERROR           ON/OFF (default ON)
#   WEIR_CMAKE_ARGS       extra cmake configure arguments (word-split)
#   WEIR_CTEST_JOBS       parallel tests under qemu (default: nproc)
set -euo pipefail

usage() { echo "usage: $0 aarch64|armhf [--test]" >&2; exit 2; }
[ $# -ge 1 ] || usage
target=$1; shift
run_tests=0
for a in "$@"; do
  case $a in --test) run_tests=1 ;; *) usage ;; esac
done
case $target in
  aarch64) debarch=arm64 triple=aarch64-linux-gnu ;;
  armhf)   debarch=armhf triple=arm-linux-gnueabihf ;;
  *) usage ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
build=${WEIR_CROSS_BUILD_DIR:-$src/build-cross-$target}
jobs=$(nproc)
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# ---- phase timing ---------------------------------------------------------------------
declare -a summary=()
phase_name="" phase_t0=0
phase() {  # phase NAME: ends the running phase (if any) and starts NAME
  local now; now=$(date +%s)
  if [ -n "$phase_name" ]; then
    summary+=("$(printf '%-12s %5ds' "$phase_name" $((now - phase_t0)))")
    echo "== [$target] $phase_name: $((now - phase_t0))s"
  fi
  phase_name=$1 phase_t0=$now
  [ -n "$phase_name" ] && echo "== [$target] $phase_name ..."
  return 0
}
print_summary() {
  phase ""
  echo "== [$target] timings:"
  printf '   %s\n' "${summary[@]}"
}
trap 'rc=$?; [ $rc -ne 0 ] && { phase ""; echo "== [$target] FAILED (exit $rc) in phase ${summary[-1]:-?}"; printf "   %s\n" "${summary[@]}"; }' EXIT

# ---- host packages ----------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
apt_updated=0
apt_update() {
  [ $apt_updated -eq 1 ] && return 0
  # A failing index (e.g. a security mirror mid-sync) must not stop the rest.
  $SUDO apt-get update -qq || echo "warning: apt-get update reported errors; continuing"
  apt_updated=1
}
apt_install() {  # installs the missing ones among "$@"
  local missing=() p
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && { echo "all present: $*"; return 0; }
  echo "installing: ${missing[*]}"
  apt_update
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The libraries weir, weir-sim and the tests link against (tests/install_deps.sh, for the
# target). nlohmann-json3-dev and libcli11-dev are header-only, Architecture: all.
target_dev=(libmosquitto-dev libpaho-mqtt-dev libpaho-mqttpp-dev libcbor-dev libsqlite3-dev
  zlib1g-dev libspdlog-dev libfmt-dev librdkafka-dev libsystemd-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libssl-dev)
indep_dev=(nlohmann-json3-dev libcli11-dev)

phase "host-tools"
apt_install cmake make pkg-config file qemu-user-static "crossbuild-essential-$debarch"

cmake_extra=()
if [ "$target" = aarch64 ]; then
  # ---- aarch64: Debian multiarch :arm64 packages on the host ----------------------------
  phase "target-libs"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
    apt_updated=0
  fi
  pkgs=()
  for p in "${target_dev[@]}"; do pkgs+=("$p:arm64"); done
  # libsimdjson-dev is not Multi-Arch: same; installing :arm64 would remove the host's
  # amd64 one. Install only the runtime (libsimdjson14:arm64) and unpack the -dev .deb into
  # an overlay directory, unless libsimdjson-dev:arm64 is already installed.
  pkgs+=(libsimdjson14:arm64 "${indep_dev[@]}")
  apt_install "${pkgs[@]}"
  if installed libsimdjson-dev:arm64; then
    :
  else
    overlay=${WEIR_CROSS_OVERLAY:-/tmp/weir-overlay-arm64}
    cfg=$overlay/usr/lib/$triple/cmake/simdjson/simdjson-config.cmake
    want=$(dpkg-query -W -f='${Version}' libsimdjson14:arm64)
    if [ ! -f "$cfg" ] || [ "$(cat "$overlay/.version" 2>/dev/null)" != "$want" ]; then
      echo "unpacking libsimdjson-dev:arm64 $want into $overlay"
      rm -rf "$overlay"; mkdir -p "$overlay"
      tmp=$(mktemp -d)
      (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "libsimdjson-dev:arm64=$want")
      dpkg-deb -x "$tmp"/libsimdjson-dev_*_arm64.deb "$overlay"
      rm -rf "$tmp"
      # The CMake targets name libsimdjson.so.14.x.y: link the runtime library installed
      # by libsimdjson14:arm64 into the overlay.
      for f in /usr/lib/"$triple"/libsimdjson.so.*; do
        ln -sfn "$f" "$overlay/usr/lib/$triple/$(basename "$f")"
      done
      echo "$want" > "$overlay/.version"
    else
      echo "libsimdjson-dev:arm64 overlay present: $overlay"
    fi
    cmake_extra+=("-Dsimdjson_DIR=$overlay/usr/lib/$triple/cmake/simdjson")
  fi
  build_tests=ON
else
  # ---- armhf: private sysroot from bookworm armhf .deb files -----------------------------
  # Nothing armhf is installed on the host: a private apt state (lists, cache, an empty
  # dpkg status) resolves the full dependency closure for armhf, and every .deb is
  # unpacked into the sysroot. A failing index (bookworm-security armhf is often
  # mid-sync on the mirror) is tolerated as long as bookworm main was fetched.
  phase "sysroot"
  sysroot=${WEIR_SYSROOT:-/tmp/weir-sysroot-armhf}
  aptdir=$sysroot.apt
  wanted="${target_dev[*]} ${indep_dev[*]} libsimdjson-dev libstdc++6"
  if [ "$(cat "$sysroot/.weir-packages" 2>/dev/null)" = "$wanted" ]; then
    echo "sysroot present: $sysroot"
  else
    rm -rf "$sysroot" "$aptdir"
    mkdir -p "$sysroot" "$aptdir"/{lists/partial,cache/archives/partial}
    : > "$aptdir/status"
    aopt=(-o "Dir::State::Lists=$aptdir/lists" -o "Dir::State::status=$aptdir/status"
          -o "Dir::Cache=$aptdir/cache" -o APT::Architecture=armhf -o "APT::Architectures::=armhf"
          -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
    apt-get -q "${aopt[@]}" update || echo "warning: armhf index update reported errors; continuing"
    ls "$aptdir"/lists/*_bookworm_main_binary-armhf_Packages* >/dev/null 2>&1 \
      || { echo "error: could not fetch the bookworm armhf package index" >&2; exit 1; }
    # shellcheck disable=SC2086
    apt-get -q -y "${aopt[@]}" --download-only --no-install-recommends install $wanted
    n=0
    for deb in "$aptdir"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$sysroot"; n=$((n + 1)); done
    echo "unpacked $n packages into $sysroot"
    # Absolute symlinks (e.g. lib.so -> /lib/...) would point into the host: make them
    # relative, inside the sysroot.
    while IFS= read -r -d '' l; do
      t=$(readlink "$l")
      case $t in
        /*) ln -sfn "$(realpath -m -s --relative-to="$(dirname "$l")" "$sysroot$t")" "$l" ;;
      esac
    done < <(find "$sysroot" -type l -print0)
    rm -rf "$aptdir/cache/archives"/*.deb
    echo "$wanted" > "$sysroot/.weir-packages"
  fi
  cmake_extra+=("-DWEIR_SYSROOT=$sysroot")
  build_tests=$([ $run_tests -eq 1 ] && echo ON || echo OFF)
fi

# ---- configure, build ---------------------------------------------------------------------
phase "configure"
# A build directory configured for another source tree (another clone, a moved checkout)
# makes CMake refuse to configure: start it again.
cache=$build/CMakeCache.txt
if [ -f "$cache" ]; then
  was=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
  if [ "$was" != "$src" ]; then
    echo "$build was configured for ${was:-another source tree}; starting it again for $src"
    rm -rf "$build"
  fi
fi
# shellcheck disable=SC2086
cmake -S "$src" -B "$build" \
  -DCMAKE_TOOLCHAIN_FILE="$here/$target.cmake" \
  -DCMAKE_BUILD_TYPE=Release \
  -DWEIR_WERROR="${WEIR_WERROR:-ON}" \
  -DWEIR_BUILD_BENCH=OFF \
  -DWEIR_BUILD_TESTS="$build_tests" \
  "${cmake_extra[@]}" ${WEIR_CMAKE_ARGS:-}

phase "build"
cmake --build "$build" -j"$jobs"
for exe in weir weir-sim; do
  f=$(find "$build/src" -type f -name "$exe" -perm -u+x | head -n1)
  [ -n "$f" ] && file -b "$f" | sed "s|^|$exe: |"
done

# ---- unit tests under qemu ----------------------------------------------------------------
if [ $run_tests -eq 1 ]; then
  phase "test"
  # The integration tests (executables integration_test, upstream_test, kafka_test) need
  # a mosquitto broker, TLS brokers, the Kafka mock cluster and the host's weir binaries:
  # exclude every suite discovered in tests/integration.
  suites=$(sed -n 's/^add_test( *\[=*\[\([^].]*\)\..*/\1/p' \
             "$build"/tests/integration/*_tests.cmake 2>/dev/null | sort -u | paste -sd'|' -)
  [ -n "$suites" ] || suites="EndToEnd|Service|Cli|Security|DetectTruth|DetectReplay|Chaos|GatewayService|LibmosquittoContract|Upstream|KafkaSinkTest"
  echo "excluding integration suites: $suites"
  (cd "$build" && ctest -E "^($suites)\\." --timeout 300 -j"${WEIR_CTEST_JOBS:-$jobs}" \
     --output-on-failure)
fi
print_summary
trap - EXIT
