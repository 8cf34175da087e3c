#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace fastconv::bindings {

void register_pool(py::module_& m) {}

}  // namespace fastconv::bindings
