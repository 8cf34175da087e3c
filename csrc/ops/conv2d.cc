#include "ops/conv2d.h"

#include <stdexcept>

#include "algos/depthwise_conv.h"
#include "algos/direct_conv.h"
#include "algos/im2col_gemm.h"
#include "algos/winograd.h"
#include "algos/winograd_1d.h"

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
  // A stride longer than the padded input gives one output row (column) whatever its size: it
  // becomes the smallest such stride, eh + 1, so no algorithm sizes a buffer by it (the direct
  // kernels' phase split makes sh * sw planes: stride 2^20 asked for 2^40 of them, and a stride
  // of 2^20 x 2^40 crashed with SIGFPE). Shorter strides stay as given, since some algorithms
  // take only particular ones (Winograd's 4x4 stride 2).
  if (p.sh > p.H + p.pt + p.pb) p.sh = eh + 1;
  if (p.sw > p.W + p.pl + p.pr) p.sw = ew + 1;
}

namespace {

template <class T>
void run_direct_forward(const Conv2dParams& p, const T* x, const T* w, const T* b, T* y) {
  algos::direct_conv2d_forward<T>(p, x, w, b, y);
}
template <class T>
void run_direct_input(const Conv2dParams& p, const T* gy, const T* w, const T* b, T* dx) {
  algos::direct_conv2d_input<T>(p, gy, w, b, dx);
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

template <class T>
void run_depthwise_input(const Conv2dParams& p, const T* gy, const T* w, const T* b, T* dx) {
  algos::depthwise_conv2d_input<T>(p, gy, w, b, dx);
}
const char* depthwise_input_declines(const Conv2dParams& p) {
  return algos::depthwise_input_declines(p);
}
template <class T>
void run_depthwise_weight(const Conv2dParams& p, const T* x, const T* gy, const T*, T* dw) {
  algos::depthwise_conv2d_weight<T>(p, x, gy, dw);
}
const char* depthwise_weight_declines(const Conv2dParams& p) {
  return algos::depthwise_weight_declines(p);
}

const char* depthwise_declines(const Conv2dParams& p) {
  return algos::depthwise_forward_declines(p);
}

template <class T>
void run_im2col_forward(const Conv2dParams& p, const T* x, const T* w, const T* b, T* y) {
  algos::im2col_conv2d_forward<T>(p, x, w, b, y);
}
template <class T>
void run_im2col_input(const Conv2dParams& p, const T* gy, const T* w, const T* b, T* dx) {
  algos::im2col_conv2d_input<T>(p, gy, w, b, dx);
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
// Forward: a 1x1 conv is a GEMM on NCHW with no copy; small output maps give the direct kernels
// too few positions per tile, and with 512+ filters per group each packed input value feeds
// enough multiply-adds to hide its packing. Elsewhere direct reads the input in place, while
// im2col re-packs each input element once per tap (measured, N=8, one thread: direct 1.18x
// faster on the 7x7 stem, on par on r50_3x3s2_128@56; im2col 1.17x faster at 1x1 and 1.5x on
// 7x7 maps; on the stride-1 3x3 ResNet/VGG layers, which go to Winograd, the two are within 7%
// either way).
//
// Strided kernels with 64+ input channels per group: direct first copies the input into its
// stride phases and computes junk grid columns, im2col packs straight from the input (measured,
// r50_3x3s2_128@56: on par on one thread, 1.00-1.08x faster on two at N=8, where direct ran
// 0.96-0.99x PyTorch); the 7x7 stem's 3 channels stay with direct (1.09-1.18x faster).
//
// Dilated kernels: direct's row kernels read every dilated tap from a separate place, while the
// packed col rows make them ordinary GEMM operands (measured, AVX2, dil2_256@28: im2col 1.3x
// faster at N=1 and N=8).
//
// Under 8 filters per group the GEMM's register tile (6-14 rows) is mostly padding, while direct
// pads only to its 4-8 channel block (measured, odd_7-5_3x3s2 with 63 outputs per image, one
// thread: direct 1.1x faster at N=1 and 1.25-1.3x at N=8, AVX2 and AVX-512) -- given outputs
// enough to fill direct's position tiles: from a 2x2 map to one output per image at N=64 (the
// digits DCGAN's last layer) im2col, which puts the images side by side, ran 1.45x faster.
//
// Stride-1 kernels where direct's tiles lose even under 512 filters (measured with
// benchmarks/auto_choice.py, one thread, N=1 and 8): kernels of 3 taps or fewer (1x3 and 3x1
// with 64-256 channels: im2col 1.06-1.14x faster), and grids whose junk columns, the S-1
// columns of each grid row past its outputs, are a quarter or more of the grid's width, every
// tile computing them (1x7 on 17x17 maps with 128-192 channels: im2col 1.15-1.23x faster; 5x5
// on 14x14 maps, junk 22%, stayed direct's: 1.08-1.12x; 7x1, no junk: direct's, 1.0-1.05x).
bool direct_tiles_wasteful(const Conv2dParams& p) {
  if (p.sh != 1 || p.sw != 1) return false;
  const int64_t junk = (p.S - 1) * p.dw, grid_width = p.Wo + junk;
  return p.R * p.S <= 3 || 4 * junk >= grid_width;
}
const char* im2col_forward_auto_declines(const Conv2dParams& p) {
  if (const char* why = few_channels(p)) return why;
  if (!algos::im2col_is_pointwise(p) && p.K / p.groups < 8 && p.Ho * p.Wo >= 32)
    return "kernel larger than 1x1, fewer than 8 filters per group and at least 32 outputs: "
           "the GEMM tile would be mostly padding";
  if (p.dh > 1 || p.dw > 1) return nullptr;
  if ((p.sh > 1 || p.sw > 1) && p.C / p.groups >= 64) return nullptr;
  if (!algos::im2col_is_pointwise(p) && p.Ho * p.Wo > 64 && p.K / p.groups < 512 &&
      !direct_tiles_wasteful(p))
    return "kernel larger than 1x1, over 64 outputs and under 512 filters per group: direct "
           "reads the input in place";
  return nullptr;
}
// Input gradient: direct computes a strided, undilated kernel's gradient as one stride-1
// correlation per stride phase with the taps that land on it, while im2col's GEMM is only as
// deep as the filters per group and col2im adds every column back (measured with
// benchmarks/auto_choice.py --ops input, one thread, N=1 and 8: direct 1.06-1.14x faster on
// r50_3x3s2_128@56, 1.3-1.8x on 5x5 and 7x7 stride-2 kernels with 16-64 channels on 56x56 and
// 64x64 inputs, 1.8-2.3x on a 4x4 stride-2 transposed conv with 8 channels per group to 28x28).
// That is for phases of 28x28 and more, or of 14x14 and more with under 64 filters per group
// (the GEMM's depth); im2col keeps 14x14 phases with 256 filters (3x3 stride 2 from 28x28:
// 1.31x faster at N=1, on par at N=8) and smaller ones (512 channels from 14x14: 1.4-1.9x),
// kernels smaller than their stride (1x1 stride 2: 1.16x), and under 8 input channels per
// group, which leave direct's block of 8 channels mostly empty (the 7x7 stem: 1.8x).
const char* im2col_input_auto_declines(const Conv2dParams& p) {
  if (const char* why = few_channels(p)) return why;
  const int64_t phase_positions = (p.H + p.sh - 1) / p.sh * ((p.W + p.sw - 1) / p.sw);
  const bool big_phases = phase_positions >= 784 || (phase_positions >= 196 && p.K / p.groups < 64);
  if (algos::direct_input_by_phases(p) && p.R >= p.sh && p.S >= p.sw && p.C / p.groups >= 8 &&
      big_phases)
    return "strided kernel with stride phases of 784+ positions (196+ under 64 filters per "
           "group) and 8+ input channels per group: direct computes each phase with its own taps";
  return nullptr;
}
// Weight gradient: im2col packs a channels-last copy of the input, measured on par with
// direct on the 3x3@56 ResNet layer and 1.1-3x faster on 1x1, strided, small-map, DCGAN and
// 7x7 stem layers. Its panel copies are (C/groups)*S long at best and each packed element is
// reused K/groups times, so few channels on either side leave it to direct (MNIST/CIFAR-sized
// layers measured 2-3x slower).
//
// Maps smaller than a tile are summed several whole images per GEMM, which makes the product
// deep whatever the channel counts; there direct wins only when both the filters and their count
// are small (measured, AVX2, 1 thread: im2col 0.04-0.7x direct's time on the digits DCGAN's
// and CNN's layers, direct 2.2-3.2x faster with 9 or 27 weights per filter and 8-32 filters).
const char* im2col_weight_auto_declines(const Conv2dParams& p) {
  if (const char* why = few_channels(p)) return why;
  if (algos::im2col_weight_batches_images(p, sizeof(float))) {
    if (p.C / p.groups * p.R * p.S < 32 && p.K / p.groups < 64)
      return "small map, under 32 weights per filter and under 64 filters per group";
    return nullptr;
  }
  if (p.K / p.groups < 32)
    return "fewer than 32 output channels per group: little reuse of each packed value";
  if (p.C / p.groups * p.S < 8) return "input channels per group x kernel width < 8: short copies";
  return nullptr;
}

// Winograd: "winograd" picks the tile (algos/winograd.h); the _f2/_f4/_f6 names force one and
// are never chosen by "auto".
template <class T, int M>
void run_winograd_forward(const Conv2dParams& p, const T* x, const T* w, const T* b, T* y) {
  algos::winograd_conv2d_forward<T>(p, x, w, b, y, M);
}
const char* winograd_declines(const Conv2dParams& p) { return algos::winograd_declines(p); }
const char* winograd_auto_declines(const Conv2dParams& p) {
  return algos::winograd_auto_declines(p);
}
const char* winograd_prepared_auto_declines(const Conv2dParams& p) {
  return algos::winograd_prepared_auto_declines(p);
}
const char* explicit_only(const Conv2dParams&) { return "only on explicit request"; }
// F(6x6) takes 3x3 kernels only (2x2 ones have F(2x2, 2x2) and F(4x4, 2x2)).
const char* winograd_f6_declines(const Conv2dParams& p) {
  if (const char* why = algos::winograd_declines(p)) return why;
  if (algos::winograd_phase_params(p).R != 3) return "F(6x6) needs a 3x3 kernel";
  return nullptr;
}

// One-dimensional Winograd along the width (algos/winograd_1d.h).
template <class T>
void run_winograd_1d_forward(const Conv2dParams& p, const T* x, const T* w, const T* b, T* y) {
  algos::winograd_1d_conv2d_forward<T>(p, x, w, b, y);
}
const char* winograd_1d_declines(const Conv2dParams& p) { return algos::winograd_1d_declines(p); }
const char* winograd_1d_auto_declines(const Conv2dParams& p) {
  return algos::winograd_1d_auto_declines(p);
}

// Input gradient by Winograd: the forward conv of winograd_input_params, whose shape "auto"
// judges as it would a forward call (one more filter transform per call, same tile rule).
template <class T>
void run_winograd_input(const Conv2dParams& p, const T* gy, const T* w, const T* b, T* dx) {
  algos::winograd_conv2d_input<T>(p, gy, w, b, dx);
}
const char* winograd_input_declines(const Conv2dParams& p) {
  return algos::winograd_input_declines(p);
}
const char* winograd_input_auto_declines(const Conv2dParams& p) {
  return algos::winograd_input_auto_declines(p);
}

const std::vector<Conv2dAlgo> kForward = {
    {"depthwise", depthwise_declines, {run_depthwise_forward<float>},
     {run_depthwise_forward<double>}, nullptr},
    {"winograd", winograd_declines, {run_winograd_forward<float, 0>},
     {run_winograd_forward<double, 0>}, winograd_auto_declines, winograd_prepared_auto_declines},
    {"winograd_1d", winograd_1d_declines, {run_winograd_1d_forward<float>},
     {run_winograd_1d_forward<double>}, winograd_1d_auto_declines},
    {"im2col", im2col_declines, {run_im2col_forward<float>}, {run_im2col_forward<double>},
     im2col_forward_auto_declines},
    {"direct", direct_declines, {run_direct_forward<float>}, {run_direct_forward<double>}},
    {"winograd_f2", winograd_declines, {run_winograd_forward<float, 2>},
     {run_winograd_forward<double, 2>}, explicit_only},
    {"winograd_f4", winograd_declines, {run_winograd_forward<float, 4>},
     {run_winograd_forward<double, 4>}, explicit_only},
    // Outside the documented float32 error bound of "auto" (README): explicit request only.
    {"winograd_f6", winograd_f6_declines, {run_winograd_forward<float, 6>},
     {run_winograd_forward<double, 6>}, explicit_only},
};
const std::vector<Conv2dAlgo> kInput = {
    {"depthwise", depthwise_input_declines, {run_depthwise_input<float>},
     {run_depthwise_input<double>}, nullptr},
    {"winograd", winograd_input_declines, {run_winograd_input<float>},
     {run_winograd_input<double>}, winograd_input_auto_declines},
    {"im2col", im2col_declines, {run_im2col_input<float>}, {run_im2col_input<double>},
     im2col_input_auto_declines},
    {"direct", direct_declines, {run_direct_input<float>}, {run_direct_input<double>}},
};
const std::vector<Conv2dAlgo> kWeight = {
    {"depthwise", depthwise_weight_declines, {run_depthwise_weight<float>},
     {run_depthwise_weight<double>}, nullptr},
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

namespace {

// Why candidate a declines p (null: it accepts), auto's own objections included for "auto".
const char* declines(const Conv2dAlgo& a, const Conv2dParams& p, bool is_auto,
                     bool weights_prepared) {
  const char* why = a.decline_reason(p);
  if (!why && is_auto) {
    const auto objection = weights_prepared && a.prepared_auto_decline_reason
                               ? a.prepared_auto_decline_reason
                               : a.auto_decline_reason;
    if (objection) why = objection(p);
  }
  return why;
}

// "name: why; name: why" for auto's candidates before `stop` (null: all of them).
std::string auto_declines(const std::vector<Conv2dAlgo>& list, const Conv2dParams& p,
                          bool weights_prepared, const Conv2dAlgo* stop) {
  std::string reasons;
  for (const Conv2dAlgo& a : list) {
    if (&a == stop) break;
    reasons += std::string(reasons.empty() ? "" : "; ") + a.name + ": " +
               declines(a, p, true, weights_prepared);
  }
  return reasons;
}

}  // namespace

// The strings (the explanation, the error messages) are built only when asked for or thrown:
// built on every call they cost a small layer ~0.3 us of mallocs and copies.
const Conv2dAlgo& select_conv2d(Conv2dOp op, const Conv2dParams& p, const std::string& algorithm,
                                std::string* why_chosen, bool weights_prepared) {
  const std::vector<Conv2dAlgo>& list = conv2d_candidates(op);
  const bool is_auto = algorithm == "auto";
  for (const Conv2dAlgo& a : list) {
    if (!is_auto && algorithm != a.name) continue;
    const char* why = declines(a, p, is_auto, weights_prepared);
    if (!is_auto && why)
      throw std::invalid_argument(std::string(op_name(op)) + ": algorithm '" + algorithm +
                                  "' does not support this shape: " + why);
    if (why) continue;
    if (why_chosen) {
      const std::string reasons = is_auto ? auto_declines(list, p, weights_prepared, &a) : "";
      if (!is_auto)
        *why_chosen = "'" + algorithm + "' was requested and supports this shape";
      else
        *why_chosen = "auto: '" + std::string(a.name) + "' is the first candidate that accepts" +
                      (reasons.empty() ? std::string(" this shape")
                                       : " this shape (declined: " + reasons + ")");
    }
    return a;
  }
  if (is_auto)
    throw std::invalid_argument(std::string(op_name(op)) + ": no algorithm supports this shape (" +
                                auto_declines(list, p, weights_prepared, nullptr) + ")");
  std::string available;
  for (const Conv2dAlgo& a : list)
    available += (available.empty() ? "'" : ", '") + std::string(a.name) + "'";
  for (const std::string& known : conv2d_algorithm_names())
    if (known == algorithm)
      throw std::invalid_argument(std::string(op_name(op)) + ": algorithm '" + algorithm +
                                  "' does not implement this op; expected 'auto' or one of " +
                                  available);
  throw std::invalid_argument(std::string(op_name(op)) + ": unknown algorithm '" + algorithm +
                              "'; expected 'auto' or one of " + available);
}

}  // namespace fastconv::ops
