# CMake toolchain file: cross-builds HAKD farm for arm64 (aarch64) Debian 12
# on an amd64 Debian 12 machine with Debian's cross compiler
# (g++-aarch64-linux-gnu) and a sysroot of Debian's arm64 packages made by
# deploy/arm64/make-sysroot.sh.
#
#   cmake -S . -B build-arm64 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=deploy/arm64/aarch64-linux-gnu.cmake \
#     -DHAKD_ARM64_SYSROOT=/var/cache/hakd/arm64-sysroot -DHAKD_BUILD_TESTS=OFF
#
# The sysroot is HAKD_ARM64_SYSROOT (cache variable, else the environment
# variable of that name, else /var/cache/hakd/arm64-sysroot). protoc and
# grpc_cpp_plugin are the host's: proto/CMakeLists.txt looks them up outside
# the sysroot.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(NOT HAKD_ARM64_SYSROOT)
  if(DEFINED ENV{HAKD_ARM64_SYSROOT})
    set(HAKD_ARM64_SYSROOT "$ENV{HAKD_ARM64_SYSROOT}")
  else()
    set(HAKD_ARM64_SYSROOT /var/cache/hakd/arm64-sysroot)
  endif()
endif()
set(HAKD_ARM64_SYSROOT "${HAKD_ARM64_SYSROOT}" CACHE PATH
    "arm64 sysroot made by deploy/arm64/make-sysroot.sh")
if(NOT EXISTS "${HAKD_ARM64_SYSROOT}/.hakd-stamp")
  message(FATAL_ERROR "no arm64 sysroot at ${HAKD_ARM64_SYSROOT}: run "
                      "deploy/arm64/make-sysroot.sh ${HAKD_ARM64_SYSROOT}")
endif()
# try_compile projects re-read this file: hand them the sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HAKD_ARM64_SYSROOT)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_SYSROOT "${HAKD_ARM64_SYSROOT}")

# Libraries, headers and CMake packages only from the sysroot; programs
# (protoc, grpc_cpp_plugin, ccache) only from the host.
set(CMAKE_FIND_ROOT_PATH "${HAKD_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The sysroot's libraries find their own dependencies (libblas.so.3 of
# libtorch, ...) through the sysroot's multiarch directories at link time.
set(_hakd_multiarch "${HAKD_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu")
set(CMAKE_EXE_LINKER_FLAGS_INIT
    "-Wl,-rpath-link,${_hakd_multiarch} -Wl,-rpath-link,${_hakd_multiarch}/blas -Wl,-rpath-link,${_hakd_multiarch}/lapack")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${CMAKE_EXE_LINKER_FLAGS_INIT}")

# pkg-config (gRPC's config finds RE2 with it) reads only the sysroot's .pc
# files and prefixes their paths with the sysroot.
set(ENV{PKG_CONFIG_LIBDIR}
    "${HAKD_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${HAKD_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${HAKD_ARM64_SYSROOT}")
