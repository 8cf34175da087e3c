// Pooling: array checks, GIL release, call into ops/pool.
#include <pybind11/pybind11.h>

#include "bindings/arrays.h"
#include "ops/pool.h"

namespace py = pybind11;

namespace fastconv::bindings {
namespace {

using ops::PoolParams;

PoolParams window(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                  int64_t dh, int64_t dw) {
  PoolParams p{};
  p.kh = kh; p.kw = kw; p.sh = sh; p.sw = sw; p.ph = ph; p.pw = pw; p.dh = dh; p.dw = dw;
  return p;
}

template <class T>
py::tuple max_pool_t(const py::array& xa, PoolParams p, bool is_min, bool with_indices) {
  carray<T> x = require<T>(xa, 4, "max_pool2d: input");
  p.N = x.shape(0); p.C = x.shape(1); p.H = x.shape(2); p.W = x.shape(3);
  ops::check_pool_params(p, "max_pool2d");
  carray<T> y = empty<T>({p.N, p.C, p.Ho, p.Wo});
  carray<int64_t> idx;
  int64_t* ip = nullptr;
  if (with_indices) {
    idx = empty<int64_t>({p.N, p.C, p.Ho, p.Wo});
    ip = idx.mutable_data();
  }
  const T* xp = x.data();
  T* yp = y.mutable_data();
  {
    KernelScope scope;
    ops::max_pool2d<T>(p, xp, yp, ip, is_min);
  }
  return py::make_tuple(std::move(y), with_indices ? py::object(std::move(idx)) : py::none());
}

template <class T>
py::array max_pool_backward_t(const py::array& ga, const py::array& ia, int64_t H, int64_t W) {
  carray<T> g = require<T>(ga, 4, "max_pool2d_backward: grad_output");
  carray<int64_t> idx = require<int64_t>(ia, 4, "max_pool2d_backward: indices");
  for (int d = 0; d < 4; ++d)
    if (idx.shape(d) != g.shape(d))
      throw py::value_error("max_pool2d_backward: indices and grad_output shapes differ");
  if (H < 1 || W < 1) throw py::value_error("max_pool2d_backward: input size must be positive");
  PoolParams p{};
  p.N = g.shape(0); p.C = g.shape(1); p.H = H; p.W = W; p.Ho = g.shape(2); p.Wo = g.shape(3);
  carray<T> dx = empty<T>({p.N, p.C, H, W});
  const T* gp = g.data();
  const int64_t* ip = idx.data();
  T* dp = dx.mutable_data();
  {
    KernelScope scope;
    ops::max_pool2d_backward<T>(p, gp, ip, dp);
  }
  return std::move(dx);
}

template <class T>
py::array avg_pool_t(const py::array& xa, PoolParams p, bool include_pad, int64_t divisor) {
  carray<T> x = require<T>(xa, 4, "avg_pool2d: input");
  p.N = x.shape(0); p.C = x.shape(1); p.H = x.shape(2); p.W = x.shape(3);
  ops::check_pool_params(p, "avg_pool2d");
  carray<T> y = empty<T>({p.N, p.C, p.Ho, p.Wo});
  const T* xp = x.data();
  T* yp = y.mutable_data();
  {
    KernelScope scope;
    ops::avg_pool2d<T>(p, xp, yp, include_pad, divisor);
  }
  return std::move(y);
}

template <class T>
py::array avg_pool_backward_t(const py::array& ga, PoolParams p, bool include_pad,
                              int64_t divisor) {
  carray<T> g = require<T>(ga, 4, "avg_pool2d_backward: grad_output");
  p.N = g.shape(0); p.C = g.shape(1); p.Ho = g.shape(2); p.Wo = g.shape(3);
  ops::check_pool_params(p, "avg_pool2d_backward");
  carray<T> dx = empty<T>({p.N, p.C, p.H, p.W});
  const T* gp = g.data();
  T* dp = dx.mutable_data();
  {
    KernelScope scope;
    ops::avg_pool2d_backward<T>(p, gp, dp, include_pad, divisor);
  }
  return std::move(dx);
}

}  // namespace

void register_pool(py::module_& m) {
  m.def(
      "max_pool2d",
      [](const py::array& x, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
         int64_t pw, int64_t dh, int64_t dw, int64_t Ho, int64_t Wo, bool is_min,
         bool with_indices) -> py::tuple {
        PoolParams p = window(kh, kw, sh, sw, ph, pw, dh, dw);
        p.Ho = Ho; p.Wo = Wo;
        if (is_f32(x)) return max_pool_t<float>(x, p, is_min, with_indices);
        if (is_f64(x)) return max_pool_t<double>(x, p, is_min, with_indices);
        throw py::type_error("max_pool2d: expected a float32 or float64 array");
      },
      py::arg("x"), py::arg("kh"), py::arg("kw"), py::arg("sh"), py::arg("sw"), py::arg("ph"),
      py::arg("pw"), py::arg("dh"), py::arg("dw"), py::arg("Ho"), py::arg("Wo"),
      py::arg("is_min"), py::arg("with_indices"),
      "Returns (y, indices or None); indices are h * W + w within each (n, c) plane.");
  m.def(
      "max_pool2d_backward",
      [](const py::array& g, const py::array& idx, int64_t H, int64_t W) -> py::array {
        if (is_f32(g)) return max_pool_backward_t<float>(g, idx, H, W);
        if (is_f64(g)) return max_pool_backward_t<double>(g, idx, H, W);
        throw py::type_error("max_pool2d_backward: expected a float32 or float64 array");
      },
      py::arg("grad_output"), py::arg("indices"), py::arg("H"), py::arg("W"));
  m.def(
      "avg_pool2d",
      [](const py::array& x, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
         int64_t pw, int64_t Ho, int64_t Wo, bool include_pad, int64_t divisor) -> py::array {
        PoolParams p = window(kh, kw, sh, sw, ph, pw, 1, 1);
        p.Ho = Ho; p.Wo = Wo;
        if (is_f32(x)) return avg_pool_t<float>(x, p, include_pad, divisor);
        if (is_f64(x)) return avg_pool_t<double>(x, p, include_pad, divisor);
        throw py::type_error("avg_pool2d: expected a float32 or float64 array");
      },
      py::arg("x"), py::arg("kh"), py::arg("kw"), py::arg("sh"), py::arg("sw"), py::arg("ph"),
      py::arg("pw"), py::arg("Ho"), py::arg("Wo"), py::arg("count_include_pad"),
      py::arg("divisor_override"), "divisor_override: 0 = none; any other value divides.");
  m.def(
      "avg_pool2d_backward",
      [](const py::array& g, int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t sh,
         int64_t sw, int64_t ph, int64_t pw, bool include_pad, int64_t divisor) -> py::array {
        PoolParams p = window(kh, kw, sh, sw, ph, pw, 1, 1);
        p.H = H; p.W = W;
        if (is_f32(g)) return avg_pool_backward_t<float>(g, p, include_pad, divisor);
        if (is_f64(g)) return avg_pool_backward_t<double>(g, p, include_pad, divisor);
        throw py::type_error("avg_pool2d_backward: expected a float32 or float64 array");
      },
      py::arg("grad_output"), py::arg("H"), py::arg("W"), py::arg("kh"), py::arg("kw"),
      py::arg("sh"), py::arg("sw"), py::arg("ph"), py::arg("pw"), py::arg("count_include_pad"),
      py::arg("divisor_override"));
}

}  // namespace fastconv::bindings
