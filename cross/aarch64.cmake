# Toolchain: 64-bit ARM Linux (Raspberry Pi 4/5 class), Debian 12 host.
#
# Compiler: g++-aarch64-linux-gnu (crossbuild-essential-arm64). Target libraries: Debian's
# multiarch :arm64 -dev packages, installed on the host (/usr/lib/aarch64-linux-gnu,
# headers in /usr/include). cross/build.sh installs all of it:
#   bash cross/build.sh aarch64 [--test]
# or by hand:
#   cmake -S . -B /tmp/weir-cross-aarch64 -DCMAKE_TOOLCHAIN_FILE=cross/aarch64.cmake
#
# Cache variables:
#   WEIR_TARGET_CPU  CPU flags for the target (default -mcpu=cortex-a72, Pi 4;
#                    use -mcpu=cortex-a76 for a Pi 5).
#   WEIR_QEMU_CPU    qemu CPU model the tests run on (default: the -mcpu= value, else max).
#   WEIR_QEMU        the qemu user emulator (default /usr/bin/qemu-aarch64-static).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(WEIR_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${WEIR_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${WEIR_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${WEIR_TRIPLE})

set(WEIR_TARGET_CPU "-mcpu=cortex-a72" CACHE STRING "Target CPU flags (compiler options)")
set(WEIR_QEMU_CPU "" CACHE STRING "qemu -cpu model for running target binaries (empty: from WEIR_TARGET_CPU)")
set(WEIR_QEMU /usr/bin/qemu-aarch64-static CACHE FILEPATH "qemu user-mode emulator")
# try_compile projects re-read this file without the cache: pass the values on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WEIR_TARGET_CPU)

set(CMAKE_C_FLAGS_INIT "${WEIR_TARGET_CPU}")
set(CMAKE_CXX_FLAGS_INIT "${WEIR_TARGET_CPU}")

# The cross prefix (the toolchain's own libc and libstdc++) and / (the multiarch packages:
# /usr/lib/aarch64-linux-gnu, /usr/include, arch-independent CMake configs in /usr/share).
set(CMAKE_FIND_ROOT_PATH /usr/${WEIR_TRIPLE} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must see the target's .pc files only, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${WEIR_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
unset(ENV{PKG_CONFIG_PATH})
unset(ENV{PKG_CONFIG_SYSROOT_DIR})

# Target binaries (gtest_discover_tests at build time, ctest) run under qemu user mode.
# No -L: the arm64 loader and libraries are installed where the binaries expect them
# (/lib/ld-linux-aarch64.so.1, /usr/lib/aarch64-linux-gnu); -L /usr/aarch64-linux-gnu
# would mix the cross toolchain's glibc with the multiarch one and hangs threaded tests.
set(_weir_qemu_cpu "${WEIR_QEMU_CPU}")
if(NOT _weir_qemu_cpu)
  if(WEIR_TARGET_CPU MATCHES "-mcpu=([A-Za-z0-9.-]+)")
    set(_weir_qemu_cpu "${CMAKE_MATCH_1}")
  else()
    set(_weir_qemu_cpu max)
  endif()
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/env QEMU_CPU=${_weir_qemu_cpu} ${WEIR_QEMU})
