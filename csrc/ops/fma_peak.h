// Measured FMA peak of this machine at the active ISA level (for "% of peak" in benchmarks).
#pragma once

namespace fastconv::ops {

// Best GFLOP/s of the active ISA's FMA probe over a few short samples (~0.1 s in all), run on
// `threads` threads at once (each thread its own chains) and summed over the threads, each
// timed by its own CPU time. threads < 1 means the pool's size.
double fma_peak_gflops(int threads);

}  // namespace fastconv::ops
