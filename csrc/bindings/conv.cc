// conv2d, conv2d_input, conv2d_weight: array checks, GIL release, call into ops/conv2d.
#include <pybind11/pybind11.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <pybind11/stl.h>

#include "bindings/arrays.h"
#include "algos/im2col_gemm.h"
#include "algos/winograd.h"
#include "ops/conv2d.h"

namespace py = pybind11;

namespace fastconv::bindings {
namespace {

using ops::Conv2dOp;
using ops::Conv2dParams;

// FASTCONV_VERBOSE=1 (read once): each call says which algorithm it runs and why, on Python's
// sys.stderr.
const ops::Conv2dAlgo& select(Conv2dOp op, const Conv2dParams& p, const std::string& algorithm) {
  static const bool verbose = [] {
    const char* v = std::getenv("FASTCONV_VERBOSE");
    return v && *v && std::string(v) != "0";
  }();
  if (!verbose) return ops::select_conv2d(op, p, algorithm);
  std::string why;
  const ops::Conv2dAlgo& algo = ops::select_conv2d(op, p, algorithm, &why);
  static const char* names[] = {"conv2d", "conv2d_input", "conv2d_weight"};
  char shape[192];
  std::snprintf(shape, sizeof shape,
                "N=%lld C=%lld H=%lld W=%lld K=%lld R=%lld S=%lld stride=%lldx%lld groups=%lld",
                (long long)p.N, (long long)p.C, (long long)p.H, (long long)p.W, (long long)p.K,
                (long long)p.R, (long long)p.S, (long long)p.sh, (long long)p.sw,
                (long long)p.groups);
  py::print(std::string("fastconv: ") + names[static_cast<int>(op)] + " " + shape + ": '" +
                algo.name + "' (" + why + ")",
            py::arg("file") = py::module_::import("sys").attr("stderr"));
  return algo;
}

// Messages as C strings: a std::string parameter would build one on every call (a malloc and
// a copy for most of these), though they are only needed when the check fails.
void check(bool ok, const char* msg) {
  if (!ok) throw py::value_error(msg);
}

// The data of an optional bias (null for None) of n values; name ("conv2d: bias") and
// wrong_size (the message when it has not n) word the errors; holder keeps the array alive.
template <class T>
const T* optional_bias(const py::object& ba, int64_t n, const char* name, const char* wrong_size,
                       carray<T>* holder) {
  if (ba.is_none()) return nullptr;
  *holder = require<T>(py::reinterpret_borrow<py::array>(ba), 1, name);
  check(holder->shape(0) == n, wrong_size);
  return holder->data();
}

template <class T>
py::array conv2d_t(const py::array& xa, const py::array& wa, const py::object& ba,
                   Conv2dParams p, const std::string& algorithm) {
  carray<T> x = require<T>(xa, 4, "conv2d: input");
  carray<T> w = require<T>(wa, 4, "conv2d: weight");
  p.N = x.shape(0); p.C = x.shape(1); p.H = x.shape(2); p.W = x.shape(3);
  p.K = w.shape(0); p.R = w.shape(2); p.S = w.shape(3);
  check(p.groups >= 1 && w.shape(1) * p.groups == p.C,
        "conv2d: weight.shape[1] * groups must equal the input channels");
  carray<T> b;
  const T* bias = optional_bias<T>(ba, p.K, "conv2d: bias",
                                   "conv2d: bias must have weight.shape[0] elements", &b);
  ops::finish_params(p);
  const ops::Conv2dAlgo& algo = select(Conv2dOp::forward, p, algorithm);
  carray<T> y = empty<T>({p.N, p.K, p.Ho, p.Wo});
  const T* xp = x.data();
  const T* wp = w.data();
  T* yp = y.mutable_data();
  {
    KernelScope scope;
    if constexpr (std::is_same_v<T, float>) algo.f32.fn(p, xp, wp, bias, yp);
    else algo.f64.fn(p, xp, wp, bias, yp);
  }
  return std::move(y);
}

template <class T>
py::array conv2d_input_t(const py::array& ga, const py::array& wa, int64_t H, int64_t W,
                         Conv2dParams p, const std::string& algorithm, const py::object& ba) {
  carray<T> g = require<T>(ga, 4, "conv2d_input: grad_output");
  carray<T> w = require<T>(wa, 4, "conv2d_input: weight");
  p.N = g.shape(0); p.H = H; p.W = W;
  p.K = w.shape(0); p.R = w.shape(2); p.S = w.shape(3);
  p.C = w.shape(1) * p.groups;
  check(p.groups >= 1, "conv2d_input: groups must be >= 1");
  check(g.shape(1) == p.K, "conv2d_input: grad_output.shape[1] must equal weight.shape[0]");
  carray<T> b;
  const T* bias = optional_bias<T>(
      ba, p.C, "conv2d_input: bias",
      "conv2d_input: bias must have weight.shape[1] * groups elements", &b);
  ops::finish_params(p);
  check(g.shape(2) == p.Ho && g.shape(3) == p.Wo,
        "conv2d_input: grad_output spatial size does not match the convolution's output");
  const ops::Conv2dAlgo& algo = select(Conv2dOp::input_grad, p, algorithm);
  carray<T> dx = empty<T>({p.N, p.C, p.H, p.W});
  const T* gp = g.data();
  const T* wp = w.data();
  T* dp = dx.mutable_data();
  {
    KernelScope scope;
    if constexpr (std::is_same_v<T, float>) algo.f32.fn(p, gp, wp, bias, dp);
    else algo.f64.fn(p, gp, wp, bias, dp);
  }
  return std::move(dx);
}

template <class T>
py::array conv2d_weight_t(const py::array& xa, const py::array& ga, int64_t R, int64_t S,
                          Conv2dParams p, const std::string& algorithm) {
  carray<T> x = require<T>(xa, 4, "conv2d_weight: input");
  carray<T> g = require<T>(ga, 4, "conv2d_weight: grad_output");
  p.N = x.shape(0); p.C = x.shape(1); p.H = x.shape(2); p.W = x.shape(3);
  p.K = g.shape(1); p.R = R; p.S = S;
  check(g.shape(0) == p.N, "conv2d_weight: input and grad_output batch sizes differ");
  ops::finish_params(p);
  check(g.shape(2) == p.Ho && g.shape(3) == p.Wo,
        "conv2d_weight: grad_output spatial size does not match the convolution's output");
  const ops::Conv2dAlgo& algo = select(Conv2dOp::weight_grad, p, algorithm);
  carray<T> dw = empty<T>({p.K, p.C / p.groups, p.R, p.S});
  const T* xp = x.data();
  const T* gp = g.data();
  T* dp = dw.mutable_data();
  {
    KernelScope scope;
    if constexpr (std::is_same_v<T, float>) algo.f32.fn(p, xp, gp, nullptr, dp);
    else algo.f64.fn(p, xp, gp, nullptr, dp);
  }
  return std::move(dw);
}

Conv2dParams geometry(int64_t sh, int64_t sw, int64_t pt, int64_t pb, int64_t pl, int64_t pr,
                      int64_t dh, int64_t dw, int64_t groups) {
  Conv2dParams p{};
  p.sh = sh; p.sw = sw; p.pt = pt; p.pb = pb; p.pl = pl; p.pr = pr; p.dh = dh; p.dw = dw;
  p.groups = groups;
  return p;
}

void same_dtype(const py::array& a, const py::array& b, const char* op) {
  if (!a.dtype().equal(b.dtype()))
    throw py::type_error(std::string(op) + ": arrays must share one dtype");
}

}  // namespace

void register_conv(py::module_& m) {
  m.attr("IM2COL_TILE_BYTES") = algos::kIm2colTileBytes;
  m.attr("IM2COL_INPUT_TILE_BYTES") = algos::kIm2colInputTileBytes;
  m.attr("IM2COL_TILE_COLUMNS") = algos::kIm2colTileColumns;
  m.attr("IM2COL_INPUT_FEW_COLUMNS") = algos::kIm2colInputFewColumns;
  m.attr("IM2COL_INPUT_CHUNK_BYTES") = algos::kIm2colInputChunkBytes;
  m.def("im2col_last_tile_bytes", &algos::im2col_last_tile_bytes,
        "Bytes of the col tile buffer the last im2col call used per thread (0: 1x1 conv, no "
        "copy).");
  m.def(
      "select_conv2d",
      [](const std::string& op, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
         int64_t S, int64_t sh, int64_t sw, int64_t pt, int64_t pb, int64_t pl, int64_t pr,
         int64_t dh, int64_t dw, int64_t groups, const std::string& algorithm,
         bool weights_prepared) {
        const Conv2dOp which = op == "forward"      ? Conv2dOp::forward
                               : op == "input_grad" ? Conv2dOp::input_grad
                               : op == "weight_grad"
                                   ? Conv2dOp::weight_grad
                                   : throw py::value_error(
                                         "op: 'forward', 'input_grad' or 'weight_grad'");
        Conv2dParams p = geometry(sh, sw, pt, pb, pl, pr, dh, dw, groups);
        p.N = N; p.C = C; p.H = H; p.W = W; p.K = K; p.R = R; p.S = S;
        ops::finish_params(p);
        std::string why;
        const ops::Conv2dAlgo& a = ops::select_conv2d(which, p, algorithm, &why, weights_prepared);
        return py::make_tuple(std::string(a.name), why);
      },
      py::arg("op"), py::arg("N"), py::arg("C"), py::arg("H"), py::arg("W"), py::arg("K"),
      py::arg("R"), py::arg("S"), py::arg("sh"), py::arg("sw"), py::arg("pt"), py::arg("pb"),
      py::arg("pl"), py::arg("pr"), py::arg("dh"), py::arg("dw"), py::arg("groups"),
      py::arg("algorithm"), py::arg("weights_prepared") = false,
      "(algorithm, why) the op would run for these sizes: introspection for benchmarks and tests "
      "(weights_prepared: as a Conv2dPlan chooses, its weights prepared once).");
  m.def(
      "winograd_tile",
      [](int64_t C, int64_t K, int64_t groups, int64_t H, int64_t W, bool weights_cached) {
        Conv2dParams p = geometry(1, 1, 1, 1, 1, 1, 1, 1, groups);
        p.N = 1; p.C = C; p.H = H; p.W = W; p.K = K; p.R = 3; p.S = 3;
        ops::finish_params(p);
        return algos::winograd_default_tile(p, weights_cached);
      },
      py::arg("C"), py::arg("K"), py::arg("groups"), py::arg("H"), py::arg("W"),
      py::arg("weights_cached") = false,
      "Output tile size m of algorithm 'winograd' for one image through a padding-1 3x3 conv "
      "(weights_cached: as a plan, whose filters are already transformed).");
  m.def("conv2d_algorithms", [] { return ops::conv2d_algorithm_names(); },
        "Registered conv2d algorithms, in 'auto' preference order.");
  m.def(
      "conv2d",
      [](const py::array& x, const py::array& w, const py::object& bias, int64_t sh, int64_t sw,
         int64_t pt, int64_t pb, int64_t pl, int64_t pr, int64_t dh, int64_t dw, int64_t groups,
         const std::string& algorithm) -> py::array {
        same_dtype(x, w, "conv2d");
        Conv2dParams p = geometry(sh, sw, pt, pb, pl, pr, dh, dw, groups);
        if (is_f32(x)) return conv2d_t<float>(x, w, bias, p, algorithm);
        if (is_f64(x)) return conv2d_t<double>(x, w, bias, p, algorithm);
        throw py::type_error("conv2d: expected float32 or float64 arrays");
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("sh"), py::arg("sw"), py::arg("pt"),
      py::arg("pb"), py::arg("pl"), py::arg("pr"), py::arg("dh"), py::arg("dw"),
      py::arg("groups"), py::arg("algorithm"));
  m.def(
      "conv2d_input",
      [](const py::array& g, const py::array& w, int64_t H, int64_t W, int64_t sh, int64_t sw,
         int64_t pt, int64_t pb, int64_t pl, int64_t pr, int64_t dh, int64_t dw, int64_t groups,
         const std::string& algorithm, const py::object& bias) -> py::array {
        same_dtype(g, w, "conv2d_input");
        Conv2dParams p = geometry(sh, sw, pt, pb, pl, pr, dh, dw, groups);
        if (is_f32(g)) return conv2d_input_t<float>(g, w, H, W, p, algorithm, bias);
        if (is_f64(g)) return conv2d_input_t<double>(g, w, H, W, p, algorithm, bias);
        throw py::type_error("conv2d_input: expected float32 or float64 arrays");
      },
      py::arg("grad_output"), py::arg("w"), py::arg("H"), py::arg("W"), py::arg("sh"),
      py::arg("sw"), py::arg("pt"), py::arg("pb"), py::arg("pl"), py::arg("pr"), py::arg("dh"),
      py::arg("dw"), py::arg("groups"), py::arg("algorithm"), py::arg("bias") = py::none());
  m.def(
      "conv2d_weight",
      [](const py::array& x, const py::array& g, int64_t R, int64_t S, int64_t sh, int64_t sw,
         int64_t pt, int64_t pb, int64_t pl, int64_t pr, int64_t dh, int64_t dw, int64_t groups,
         const std::string& algorithm) -> py::array {
        same_dtype(x, g, "conv2d_weight");
        Conv2dParams p = geometry(sh, sw, pt, pb, pl, pr, dh, dw, groups);
        if (is_f32(x)) return conv2d_weight_t<float>(x, g, R, S, p, algorithm);
        if (is_f64(x)) return conv2d_weight_t<double>(x, g, R, S, p, algorithm);
        throw py::type_error("conv2d_weight: expected float32 or float64 arrays");
      },
      py::arg("x"), py::arg("grad_output"), py::arg("R"), py::arg("S"), py::arg("sh"),
      py::arg("sw"), py::arg("pt"), py::arg("pb"), py::arg("pl"), py::arg("pr"), py::arg("dh"),
      py::arg("dw"), py::arg("groups"), py::arg("algorithm"));
}

}  // namespace fastconv::bindings
