// Run-time CPU feature detection and the ISA cap (FASTCONV_ISA / fastconv._core.set_isa_cap).
#pragma once

#include <cstdint>

namespace fastconv {

// The caches that blocking assumes, per core: the machine family the library is tuned for
// (Zen 5: 1 MiB L2, 32 MiB L3). Not detected at run time: on a larger cache the blocks are
// merely smaller than they could be.
inline constexpr int64_t kL2Bytes = 1 << 20;
inline constexpr int64_t kL3Bytes = 32 << 20;

enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2 };

// The best level this CPU and OS support (AVX2 means AVX2+FMA; AVX-512 means F+BW+DQ+VL).
Isa detected_isa();
// The level kernels use now: min(detected, cap).
Isa active_isa();
// Cap the level; a cap above what the CPU supports is clamped to it.
void set_isa_cap(Isa cap);
const char* isa_name(Isa isa);
// Parses "scalar" | "avx2" | "avx512"; returns false for anything else.
bool parse_isa(const char* name, Isa* out);

}  // namespace fastconv
