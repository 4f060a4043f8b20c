#pragma once
// Shared by the AVX-512 kernels (kernel_*_avx512.cpp): the target attribute that lets a
// portable build carry them (chosen at run time by cpu_has_avx512()), and the
// intrinsics header. Include only from those files.
//
// g++ 12's AVX-512 headers build some intrinsics from _mm512_undefined_epi32(), which
// -W(maybe-)uninitialized reports from inside the header; the values are all defined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#define TALLY_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
