// fastconv._core: pybind11 glue only. Each op family registers itself from its own file.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace fastconv::bindings {
void register_runtime(py::module_& m);
void register_conv(py::module_& m);
void register_pad(py::module_& m);
void register_pool(py::module_& m);
void register_gemm(py::module_& m);
void register_plan(py::module_& m);
void register_peak(py::module_& m);
}  // namespace fastconv::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastconv C++ kernels (internal: use the fastconv package API)";
  using namespace fastconv::bindings;
  register_runtime(m);
  register_conv(m);
  register_pad(m);
  register_pool(m);
  register_gemm(m);
  register_plan(m);
  register_peak(m);
}
