// pad: array checks, GIL release, call into ops/pad.
#include <pybind11/pybind11.h>

#include "bindings/arrays.h"
#include "ops/pad.h"

namespace py = pybind11;

namespace fastconv::bindings {
namespace {

template <class T>
py::array pad_t(const py::array& xa, ops::PadParams p, double value) {
  carray<T> x = require<T>(xa, 4, "pad: input");
  p.N = x.shape(0); p.C = x.shape(1); p.H = x.shape(2); p.W = x.shape(3);
  ops::check_pad_params(p);
  carray<T> y = empty<T>({p.N, p.C, p.H + p.top + p.bottom, p.W + p.left + p.right});
  const T* xp = x.data();
  T* yp = y.mutable_data();
  {
    KernelScope scope;
    ops::pad<T>(p, xp, yp, static_cast<T>(value));
  }
  return std::move(y);
}

}  // namespace

void register_pad(py::module_& m) {
  m.def(
      "pad",
      [](const py::array& x, int64_t left, int64_t right, int64_t top, int64_t bottom,
         const std::string& mode, double value) -> py::array {
        ops::PadParams p{};
        p.left = left; p.right = right; p.top = top; p.bottom = bottom;
        p.mode = ops::parse_pad_mode(mode);
        if (is_f32(x)) return pad_t<float>(x, p, value);
        if (is_f64(x)) return pad_t<double>(x, p, value);
        throw py::type_error("pad: expected a float32 or float64 array");
      },
      py::arg("x"), py::arg("left"), py::arg("right"), py::arg("top"), py::arg("bottom"),
      py::arg("mode"), py::arg("value"));
}

}  // namespace fastconv::bindings
