#include <pybind11/pybind11.h>

#include "ops/fma_peak.h"

namespace py = pybind11;

namespace fastconv::bindings {

void register_peak(py::module_& m) {
  m.def("fma_peak_gflops", [](int threads) {
    py::gil_scoped_release release;
    return ops::fma_peak_gflops(threads);
  }, py::arg("threads") = 0,
     "Measured float32 FMA peak in GFLOP/s at the active ISA level on `threads` threads "
     "(0: the pool's size); takes about 0.1 s.");
}

}  // namespace fastconv::bindings
