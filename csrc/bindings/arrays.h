// Array checks shared by the bindings. Python validates user input first (fastconv/_validate.py);
// these checks only guard the C++ boundary against internal misuse, raising instead of crashing.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/fpenv.h"

namespace fastconv::bindings {

namespace py = pybind11;

template <class T>
using carray = py::array_t<T, py::array::c_style>;

// Dtypes compare by value (==), not identity: numba and other producers create their own,
// equal dtype objects. Requires a C-contiguous array of exactly dtype T (no silent conversion)
// and the given ndim.
template <class T>
carray<T> require(const py::array& a, int ndim, const char* name) {
  if (!py::isinstance<carray<T>>(a) || !(a.flags() & py::array::c_style))
    throw py::type_error(std::string(name) +
                         ": expected a C-contiguous array of the kernel's dtype");
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(ndim) + " dimensions");
  return py::reinterpret_borrow<carray<T>>(a);
}

inline bool is_f32(const py::array& a) { return a.dtype().equal(py::dtype::of<float>()); }
inline bool is_f64(const py::array& a) { return a.dtype().equal(py::dtype::of<double>()); }

// Around every kernel call: the GIL is released (other Python threads run meanwhile) and
// denormals are flushed on the calling thread; both are restored when the scope ends.
struct KernelScope {
  py::gil_scoped_release nogil;
  DenormalsAreZero flush;
};

template <class T>
carray<T> empty(std::vector<int64_t> shape) {
  return carray<T>(std::vector<py::ssize_t>(shape.begin(), shape.end()));
}

}  // namespace fastconv::bindings
