# Cross build for 64-bit ARM with Debian's crossbuild-essential-arm64 (preset cross-aarch64).
# Only the core library and its kernel tests are built (TALLY_CORE_ONLY): Debian has no
# arm64 MPI or HDF5 to cross-link against here, and the kernels are what differ by ISA.
# Multiarch arm64 packages (libhwy-dev:arm64) install libraries under
# /usr/lib/aarch64-linux-gnu and share /usr/include, which the cross compiler searches.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

find_program(TALLY_CROSS_CXX aarch64-linux-gnu-g++)
find_program(TALLY_CROSS_CC aarch64-linux-gnu-gcc)
if(NOT TALLY_CROSS_CXX OR NOT TALLY_CROSS_CC)
  message(FATAL_ERROR "aarch64-linux-gnu-g++ not found: install crossbuild-essential-arm64 (scripts/setup does)")
endif()
set(CMAKE_C_COMPILER ${TALLY_CROSS_CC})
set(CMAKE_CXX_COMPILER ${TALLY_CROSS_CXX})

# pkg-config sees the arm64 .pc files only, never the build machine's x86-64 ones.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# How the test binaries run here (tests/cross/qemu-run picks the CPU). The dynamic loader
# comes from the cross sysroot (-L); LD_LIBRARY_PATH makes libc, libstdc++ and libgomp come
# from there too. Without it the loader takes libc from multiarch libc6:arm64 (a different
# build, pulled in by libhwy1:arm64), and the first thread a program starts hangs.
set(TALLY_QEMU_SYSROOT /usr/aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L ${TALLY_QEMU_SYSROOT} -E LD_LIBRARY_PATH=${TALLY_QEMU_SYSROOT}/lib)
