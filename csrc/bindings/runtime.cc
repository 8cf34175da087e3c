#include <pybind11/pybind11.h>

#include "runtime/cpu.h"
#include "runtime/fpenv.h"
#include "runtime/parallel.h"

namespace py = pybind11;

namespace fastconv::bindings {

void register_runtime(py::module_& m) {
  m.def("isa_detected", [] { return isa_name(detected_isa()); },
        "Best ISA level the CPU and OS support.");
  m.def("isa_active", [] { return isa_name(active_isa()); },
        "ISA level the kernels use now (detected, capped by set_isa_cap).");
  m.def("set_isa_cap", [](const std::string& name) {
    Isa isa;
    if (!parse_isa(name.c_str(), &isa))
      throw py::value_error("isa: expected one of 'scalar', 'avx2', 'avx512', got '" + name + "'");
    set_isa_cap(isa);
  }, py::arg("isa"));
  m.def("flush_bits", [] { return flush_bits(); },
        "The calling thread's MXCSR FTZ/DAZ bits (kernels set them while running, then restore).");
  m.def("get_num_threads", [] { return max_threads(); });
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw py::value_error("num_threads: must be >= 1");
    set_max_threads(n);
  }, py::arg("n"));
#ifdef FASTCONV_HAVE_OPENMP
  m.attr("openmp") = py::int_(_OPENMP);
#else
  m.attr("openmp") = py::none();
#endif
}

}  // namespace fastconv::bindings
