# Toolchain: 32-bit ARMv7 hard-float Linux (Raspberry Pi 2/3 with a 32-bit OS), Debian 12 host.
#
# Compiler: g++-arm-linux-gnueabihf (crossbuild-essential-armhf); it keeps its own libc and
# libstdc++ (/usr/arm-linux-gnueabihf). Target libraries: a private sysroot unpacked from
# Debian bookworm armhf .deb files (nothing is installed on the host for armhf).
# cross/build.sh makes the sysroot and builds:
#   bash cross/build.sh armhf [--test]
# or by hand, once the sysroot exists:
#   cmake -S . -B /tmp/weir-cross-armhf -DCMAKE_TOOLCHAIN_FILE=cross/armhf.cmake \
#         -DWEIR_SYSROOT=/tmp/weir-sysroot-armhf
#
# Cache variables:
#   WEIR_SYSROOT     the armhf sysroot (default /tmp/weir-sysroot-armhf, or $WEIR_SYSROOT).
#   WEIR_TARGET_CPU  CPU flags (default -march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard:
#                    Pi 2 (Cortex-A7) and Pi 3 (Cortex-A53) in 32-bit mode).
#   WEIR_QEMU_CPU    qemu CPU model the tests run on (default cortex-a7).
#   WEIR_QEMU        the qemu user emulator (default /usr/bin/qemu-arm-static).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(WEIR_TRIPLE arm-linux-gnueabihf)

set(CMAKE_C_COMPILER ${WEIR_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${WEIR_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${WEIR_TRIPLE})

if(DEFINED ENV{WEIR_SYSROOT})
  set(_weir_default_sysroot "$ENV{WEIR_SYSROOT}")
else()
  set(_weir_default_sysroot /tmp/weir-sysroot-armhf)
endif()
set(WEIR_SYSROOT "${_weir_default_sysroot}" CACHE PATH "armhf sysroot (unpacked .deb files)")
set(WEIR_TARGET_CPU "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard" CACHE STRING
  "Target CPU flags (compiler options)")
set(WEIR_QEMU_CPU cortex-a7 CACHE STRING "qemu -cpu model for running target binaries")
set(WEIR_QEMU /usr/bin/qemu-arm-static CACHE FILEPATH "qemu user-mode emulator")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WEIR_SYSROOT WEIR_TARGET_CPU)

if(NOT EXISTS "${WEIR_SYSROOT}/usr/include")
  message(FATAL_ERROR "armhf sysroot ${WEIR_SYSROOT} is missing: run cross/build.sh armhf "
    "or pass -DWEIR_SYSROOT=<dir>")
endif()

# --sysroot moves /usr/include and the multiarch library dirs into the sysroot; the
# compiler's own headers and libraries (/usr/arm-linux-gnueabihf, gcc-cross) stay.
set(CMAKE_SYSROOT "${WEIR_SYSROOT}")
set(CMAKE_C_FLAGS_INIT "${WEIR_TARGET_CPU}")
set(CMAKE_CXX_FLAGS_INIT "${WEIR_TARGET_CPU}")
# Indirect dependencies of the sysroot's shared libraries (e.g. libssl behind libpaho).
set(_weir_rpath_link
  "-Wl,-rpath-link,${WEIR_SYSROOT}/usr/lib/${WEIR_TRIPLE}:${WEIR_SYSROOT}/lib/${WEIR_TRIPLE}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_weir_rpath_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_weir_rpath_link}")

set(CMAKE_FIND_ROOT_PATH "${WEIR_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(ENV{PKG_CONFIG_LIBDIR}
  "${WEIR_SYSROOT}/usr/lib/${WEIR_TRIPLE}/pkgconfig:${WEIR_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${WEIR_SYSROOT}")
unset(ENV{PKG_CONFIG_PATH})

# Target binaries run under qemu user mode with the sysroot as the library root: the
# sysroot holds one complete armhf glibc (libc6) plus libstdc++6 and every library weir uses.
set(CMAKE_CROSSCOMPILING_EMULATOR
  /usr/bin/env QEMU_CPU=${WEIR_QEMU_CPU} QEMU_LD_PREFIX=${WEIR_SYSROOT} ${WEIR_QEMU})
