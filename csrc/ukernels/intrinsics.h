// <immintrin.h>, for the per-ISA files. GCC 12's intrinsics give their "undefined" vectors no
// value (`__m256d __Y = __Y;`), which -Wuninitialized and -Wmaybe-uninitialized report wherever
// such an intrinsic is inlined (GCC bug 105593, fixed in GCC 13). The warnings are silenced for
// the header's own lines only: code here that reads an uninitialised value is still reported.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
