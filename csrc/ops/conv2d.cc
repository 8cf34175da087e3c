#include "ops/conv2d.h"

#include <stdexcept>

#include "algos/depthwise_conv.h"
#include "algos/direct_conv.h"
#include "algos/im2col_gemm.h"

namespace fastconv::ops {

void finish_params(Conv2dParams& p) {
  auto bad = [](const std::string& m) { throw std::invalid_argument("conv2d: " + m); };
  if (p.N < 0 || p.C < 1 || p.H < 1 || p.W < 1 || p.K < 1 || p.R < 1 || p.S < 1)
    bad("sizes must be positive");
  if (p.sh < 1 || p.sw < 1 || p.dh < 1 || p.dw < 1) bad("stride and dilation must be >= 1");
  if (p.pt < 0 || p.pb < 0 || p.pl < 0 || p.pr < 0) bad("padding must be >= 0");
  if (p.groups < 1 || p.C % p.groups != 0 || p.K % p.groups != 0)
    bad("groups must divide the input and output channels");
  int64_t eh = p.H + p.pt + p.pb - p.dh * (p.R - 1) - 1;
  int64_t ew = p.W + p.pl + p.pr - p.dw * (p.S - 1) - 1;
  if (eh < 0 || ew < 0) bad("kernel larger than the padded input");
  p.Ho = eh / p.sh + 1;
  p.Wo = ew / p.sw + 1;
}

namespace {

template <class T>
void run_direct_forward(const Conv2dParams& p, const T* x, const T* w, const T* b, T* y) {
  algos::direct_conv2d_forward<T>(p, x, w, b, y);
}
template <class T>
void run_direct_input(const Conv2dParams& p, const T* gy, const T* w, const T*, T* dx) {
  algos::direct_conv2d_input<T>(p, gy, w, dx);
}
template <class T>
void run_direct_weight(const Conv2dParams& p, const T* x, const T* gy, const T*, T* dw) {
  algos::direct_conv2d_weight<T>(p, x, gy, dw);
}

const char* direct_declines(const Conv2dParams&) { return nullptr; }

template <class T>
void run_depthwise_forward(const Conv2dParams& p, const T* x, const T* w, const T* b, T* y) {
  algos::depthwise_conv2d_forward<T>(p, x, w, b, y);
}

const char* depthwise_declines(const Conv2dParams& p) {
  static_assert(algos::kDepthwiseMaxInputsPerGroup == 2 && algos::kDepthwiseMaxOutputsPerGroup == 4,
                "update the messages below");
  if (p.C / p.groups > algos::kDepthwiseMaxInputsPerGroup)
    return "more than 2 input channels per group (blocked kernels reuse loads across channels)";
  if (p.K / p.groups > algos::kDepthwiseMaxOutputsPerGroup)
    return "more than 4 output channels per group (blocked kernels reuse loads across channels)";
  return nullptr;
}

template <class T>
void run_im2col_forward(const Conv2dParams& p, const T* x, const T* w, const T* b, T* y) {
  algos::im2col_conv2d_forward<T>(p, x, w, b, y);
}
template <class T>
void run_im2col_input(const Conv2dParams& p, const T* gy, const T* w, const T*, T* dx) {
  algos::im2col_conv2d_input<T>(p, gy, w, dx);
}
template <class T>
void run_im2col_weight(const Conv2dParams& p, const T* x, const T* gy, const T*, T* dw) {
  algos::im2col_conv2d_weight<T>(p, x, gy, dw);
}

const char* im2col_declines(const Conv2dParams&) { return nullptr; }
// "auto" preferences, from side-by-side timings on the suite layers (benchmarks/bench_gemm.py,
// benchmarks/test_layers.py). A GEMM with one row or column per group leaves the register tile
// mostly empty: direct serves depthwise-like layers.
const char* few_channels(const Conv2dParams& p) {
  if (p.C / p.groups < 4 && p.K / p.groups < 4) return "fewer than 4 channels per group";
  return nullptr;
}
// Forward: a 1x1 conv is a GEMM on NCHW with no copy, and a small output map gives the direct
// kernels too few positions per tile; elsewhere direct reads the input in place, while im2col
// re-packs each input element once per tap (measured: direct 1.2-1.5x faster on the ResNet/VGG
// 3x3 layers at 1 thread, im2col ~1.1x faster at 1x1 and on 7x7 maps).
const char* im2col_forward_auto_declines(const Conv2dParams& p) {
  if (const char* why = few_channels(p)) return why;
  if (!algos::im2col_is_pointwise(p) && p.Ho * p.Wo > 64)
    return "kernel larger than 1x1 on a map over 64 outputs: direct reads the input in place";
  return nullptr;
}
const char* im2col_input_auto_declines(const Conv2dParams& p) { return few_channels(p); }
// Weight gradient: on large stride-1 maps direct's dot kernels read input and grad_output in
// place, while im2col transposes every input element once per tap into the packed panels.
const char* im2col_weight_auto_declines(const Conv2dParams& p) {
  if (const char* why = few_channels(p)) return why;
  if (!algos::im2col_is_pointwise(p) && p.sh == 1 && p.sw == 1 && p.Ho * p.Wo >= 1024)
    return "stride-1 map of 1024+ outputs: direct reads the input in place";
  return nullptr;
}

const std::vector<Conv2dAlgo> kForward = {
    {"depthwise", depthwise_declines, {run_depthwise_forward<float>},
     {run_depthwise_forward<double>}, nullptr},
    {"im2col", im2col_declines, {run_im2col_forward<float>}, {run_im2col_forward<double>},
     im2col_forward_auto_declines},
    {"direct", direct_declines, {run_direct_forward<float>}, {run_direct_forward<double>}},
};
const std::vector<Conv2dAlgo> kInput = {
    {"im2col", im2col_declines, {run_im2col_input<float>}, {run_im2col_input<double>},
     im2col_input_auto_declines},
    {"direct", direct_declines, {run_direct_input<float>}, {run_direct_input<double>}},
};
const std::vector<Conv2dAlgo> kWeight = {
    {"im2col", im2col_declines, {run_im2col_weight<float>}, {run_im2col_weight<double>},
     im2col_weight_auto_declines},
    {"direct", direct_declines, {run_direct_weight<float>}, {run_direct_weight<double>}},
};

const char* op_name(Conv2dOp op) {
  switch (op) {
    case Conv2dOp::input_grad: return "conv2d_input";
    case Conv2dOp::weight_grad: return "conv2d_weight";
    default: return "conv2d";
  }
}

}  // namespace

const std::vector<Conv2dAlgo>& conv2d_candidates(Conv2dOp op) {
  switch (op) {
    case Conv2dOp::input_grad: return kInput;
    case Conv2dOp::weight_grad: return kWeight;
    default: return kForward;
  }
}

std::vector<std::string> conv2d_algorithm_names() {
  std::vector<std::string> names;
  for (Conv2dOp op : {Conv2dOp::forward, Conv2dOp::input_grad, Conv2dOp::weight_grad})
    for (const Conv2dAlgo& a : conv2d_candidates(op)) {
      bool seen = false;
      for (const std::string& n : names) seen = seen || n == a.name;
      if (!seen) names.push_back(a.name);
    }
  return names;
}

const Conv2dAlgo& select_conv2d(Conv2dOp op, const Conv2dParams& p, const std::string& algorithm,
                                std::string* why_chosen) {
  const std::vector<Conv2dAlgo>& list = conv2d_candidates(op);
  std::string available, reasons;
  for (const Conv2dAlgo& a : list) {
    available += (available.empty() ? "'" : ", '") + std::string(a.name) + "'";
    if (algorithm != "auto" && algorithm != a.name) continue;
    const char* why = a.decline_reason(p);
    if (!why && algorithm == "auto" && a.auto_decline_reason) why = a.auto_decline_reason(p);
    if (!why) {
      if (why_chosen) {
        if (algorithm != "auto")
          *why_chosen = "'" + algorithm + "' was requested and supports this shape";
        else
          *why_chosen = "auto: '" + std::string(a.name) + "' is the first candidate that accepts" +
                        (reasons.empty() ? std::string(" this shape")
                                         : " this shape (declined: " + reasons + ")");
      }
      return a;
    }
    if (algorithm != "auto")
      throw std::invalid_argument(std::string(op_name(op)) + ": algorithm '" + algorithm +
                                  "' does not support this shape: " + why);
    reasons += std::string(reasons.empty() ? "" : "; ") + a.name + ": " + why;
  }
  if (algorithm == "auto")
    throw std::invalid_argument(std::string(op_name(op)) + ": no algorithm supports this shape (" +
                                reasons + ")");
  for (const std::string& known : conv2d_algorithm_names())
    if (known == algorithm)
      throw std::invalid_argument(std::string(op_name(op)) + ": algorithm '" + algorithm +
                                  "' does not implement this op; expected 'auto' or one of " +
                                  available);
  throw std::invalid_argument(std::string(op_name(op)) + ": unknown algorithm '" + algorithm +
                              "'; expected 'auto' or one of " + available);
}

}  // namespace fastconv::ops
