// _core.Conv2dPlan: a forward convolution with its weights packed once (fastconv.Conv2dPlan wraps
// it after validating the arguments). The algorithm is chosen for an input size (the hint given
// at construction, then each call's batch and size; the choice is cached per batch and size, and
// "auto" judges it with the weights prepared once: ops::select_conv2d), weights are packed
// the first time an algorithm that packs them is chosen, and calls reuse the per-thread
// workspaces, so the only allocation per call is the output array.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <string>
#include <type_traits>

#include "algos/im2col_gemm.h"
#include "algos/winograd.h"
#include "algos/winograd_1d.h"
#include "bindings/arrays.h"
#include "ops/conv2d.h"

namespace py = pybind11;

namespace fastconv::bindings {
namespace {

using ops::Conv2dParams;

template <class T>
struct PlanState {
  carray<T> weight;  // a private copy: later changes to the caller's array do not leak in
  carray<T> bias;    // empty when there is no bias
  bool has_bias = false;
  algos::Im2colWeights<T> im2col;  // packed when the chosen algorithm is im2col
  // Transformed for tile m = 2, 4, 6 when a Winograd variant first runs it; never transformed
  // again, so a call running on one (without the GIL) is not disturbed by another call
  // choosing for another batch or size.
  algos::WinogradWeights<T> winograd_tiles[3];
  algos::WinogradWeights<T>& winograd(int m) { return winograd_tiles[m / 2 - 1]; }
  algos::Winograd1dWeights<T> winograd_1d;  // transformed when winograd_1d is first chosen
};

class Conv2dPlanCore {
 public:
  Conv2dPlanCore(const py::array& w, const py::object& bias, int64_t sh, int64_t sw, int64_t pt,
                 int64_t pb, int64_t pl, int64_t pr, int64_t dh, int64_t dw, int64_t groups,
                 const std::string& algorithm, int64_t H, int64_t W)
      : requested_(algorithm) {
    p_ = Conv2dParams{};
    p_.sh = sh; p_.sw = sw; p_.pt = pt; p_.pb = pb; p_.pl = pl; p_.pr = pr;
    p_.dh = dh; p_.dw = dw; p_.groups = groups;
    if (is_f32(w)) init<float>(f32_, w, bias);
    else if (is_f64(w)) init<double>(f64_, w, bias);
    else throw py::type_error("Conv2dPlan: expected a float32 or float64 weight");
    // Without a size hint: the smallest input the kernel fits, but at least 64 x 64.
    const int64_t hmin = p_.dh * (p_.R - 1) + 1 - p_.pt - p_.pb;
    const int64_t wmin = p_.dw * (p_.S - 1) + 1 - p_.pl - p_.pr;
    Conv2dParams probe = p_;
    probe.N = 1;
    probe.H = H > 0 ? H : (hmin > 64 ? hmin : 64);
    probe.W = W > 0 ? W : (wmin > 64 ? wmin : 64);
    ops::finish_params(probe);
    choose(probe);
  }

  py::array call(const py::array& x) {
    if (!x.dtype().equal(dtype_))
      throw py::type_error("Conv2dPlan: input must have the weight's dtype");
    if (is_f32(x)) return run<float>(f32_, x);
    return run<double>(f64_, x);
  }

  std::string algorithm() const { return algo_->name; }
  std::string why() const { return why_; }

 private:
  // Selects the algorithm for p's sizes (once per distinct batch and input size; "auto" judges
  // with the weights prepared once, so Winograd owes no filter transform per call) and packs
  // for it. The packed weights of every algorithm chosen so far are kept.
  void choose(const Conv2dParams& p) {
    if (algo_ && p.N == chosen_n_ && p.H == chosen_h_ && p.W == chosen_w_) return;
    algo_ = &ops::select_conv2d(ops::Conv2dOp::forward, p, requested_, &why_, true);
    chosen_n_ = p.N;
    chosen_h_ = p.H;
    chosen_w_ = p.W;
    if (std::string(algo_->name) == "im2col") {
      if (is_f32_ && f32_.im2col.groups.empty()) f32_.im2col.pack(p, f32_.weight.data());
      if (!is_f32_ && f64_.im2col.groups.empty()) f64_.im2col.pack(p, f64_.weight.data());
    }
    if (std::string(algo_->name) == "winograd_1d") {
      if (is_f32_ && f32_.winograd_1d.empty()) f32_.winograd_1d.pack(p, f32_.weight.data());
      if (!is_f32_ && f64_.winograd_1d.empty()) f64_.winograd_1d.pack(p, f64_.weight.data());
    }
    // Winograd's tile may differ between batches and input sizes: each tile is transformed once.
    if (const int m = algos::winograd_named_tile(algo_->name, p)) {
      if (is_f32_ && f32_.winograd(m).tile() != m) f32_.winograd(m).pack(p, f32_.weight.data(), m);
      if (!is_f32_ && f64_.winograd(m).tile() != m) f64_.winograd(m).pack(p, f64_.weight.data(), m);
    }
  }

  template <class T>
  void init(PlanState<T>& st, const py::array& wa, const py::object& ba) {
    dtype_ = wa.dtype();
    is_f32_ = std::is_same_v<T, float>;
    carray<T> w = require<T>(wa, 4, "Conv2dPlan: weight");
    st.weight = carray<T>(std::vector<py::ssize_t>{w.shape(0), w.shape(1), w.shape(2), w.shape(3)});
    std::copy(w.data(), w.data() + w.size(), st.weight.mutable_data());
    if (!ba.is_none()) {
      carray<T> b = require<T>(py::reinterpret_borrow<py::array>(ba), 1, "Conv2dPlan: bias");
      if (b.shape(0) != w.shape(0))
        throw py::value_error("Conv2dPlan: bias must have weight.shape[0] elements");
      st.bias = carray<T>(std::vector<py::ssize_t>{b.shape(0)});
      std::copy(b.data(), b.data() + b.size(), st.bias.mutable_data());
      st.has_bias = true;
    }
    p_.K = w.shape(0); p_.R = w.shape(2); p_.S = w.shape(3);
    p_.C = w.shape(1) * p_.groups;
  }

  template <class T>
  py::array run(PlanState<T>& st, const py::array& xa) {
    carray<T> x = require<T>(xa, 4, "Conv2dPlan: input");
    Conv2dParams p = p_;
    p.N = x.shape(0); p.H = x.shape(2); p.W = x.shape(3);
    if (x.shape(1) != p.C)
      throw py::value_error("Conv2dPlan: input channels do not match the weight");
    ops::finish_params(p);
    choose(p);
    // What this call runs, fixed while the GIL is held: another thread's call may choose anew
    // while this one computes.
    const ops::Conv2dAlgo* algo = algo_;
    const bool im2col = std::string(algo->name) == "im2col";
    const bool winograd_1d = std::string(algo->name) == "winograd_1d";
    const int tile = algos::winograd_named_tile(algo->name, p);
    carray<T> y = empty<T>({p.N, p.K, p.Ho, p.Wo});
    const T* xp = x.data();
    const T* bp = st.has_bias ? st.bias.data() : nullptr;
    T* yp = y.mutable_data();
    {
      KernelScope scope;
      if (p.N == 0) {
      } else if (im2col) {
        algos::im2col_conv2d_forward<T>(p, xp, st.im2col, bp, yp);
      } else if (tile) {
        algos::winograd_conv2d_forward<T>(p, xp, st.winograd(tile), bp, yp);
      } else if (winograd_1d) {
        algos::winograd_1d_conv2d_forward<T>(p, xp, st.winograd_1d, bp, yp);
      } else if constexpr (std::is_same_v<T, float>) {
        algo->f32.fn(p, xp, st.weight.data(), bp, yp);
      } else {
        algo->f64.fn(p, xp, st.weight.data(), bp, yp);
      }
    }
    return std::move(y);
  }

  Conv2dParams p_;
  std::string requested_;
  int64_t chosen_n_ = 0, chosen_h_ = 0, chosen_w_ = 0;
  py::dtype dtype_;
  bool is_f32_ = true;
  const ops::Conv2dAlgo* algo_ = nullptr;
  std::string why_;
  PlanState<float> f32_;
  PlanState<double> f64_;
};

}  // namespace

void register_plan(py::module_& m) {
  py::class_<Conv2dPlanCore>(m, "Conv2dPlan",
                             "conv2d with packed weights (internal: use fastconv.Conv2dPlan)")
      .def(py::init<const py::array&, const py::object&, int64_t, int64_t, int64_t, int64_t,
                    int64_t, int64_t, int64_t, int64_t, int64_t, const std::string&, int64_t,
                    int64_t>(),
           py::arg("w"), py::arg("bias"), py::arg("sh"), py::arg("sw"), py::arg("pt"),
           py::arg("pb"), py::arg("pl"), py::arg("pr"), py::arg("dh"), py::arg("dw"),
           py::arg("groups"), py::arg("algorithm"), py::arg("H") = 0, py::arg("W") = 0)
      .def("__call__", &Conv2dPlanCore::call, py::arg("x"))
      .def_property_readonly("algorithm", &Conv2dPlanCore::algorithm)
      .def_property_readonly("why", &Conv2dPlanCore::why);
}

}  // namespace fastconv::bindings
