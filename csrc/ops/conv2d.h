// conv2d and its gradients: the ordered list of algorithm candidates for each op.
// A candidate declines a shape with a reason string (nullptr = supported); "auto" takes the
// first candidate that accepts. To add an algorithm, append a Conv2dAlgo to the lists in
// conv2d.cc (the forward, input-gradient and weight-gradient lists are independent).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fastconv::ops {

// Sizes of conv2d (the forward problem); the gradients use the same description.
struct Conv2dParams {
  int64_t N, C, H, W;      // input
  int64_t K, R, S;         // weight (K, C / groups, R, S)
  int64_t sh, sw;          // stride
  int64_t pt, pb, pl, pr;  // zero padding top, bottom, left, right
  int64_t dh, dw;          // dilation
  int64_t groups;
  int64_t Ho, Wo;          // output (filled by finish_params)
};

// Computes Ho, Wo and checks consistency; throws std::invalid_argument (ValueError).
void finish_params(Conv2dParams& p);

enum class Conv2dOp { forward, input_grad, weight_grad };

template <class T>
struct Conv2dRun {
  // forward:      a = x, b = w, c = bias (may be null), out = y
  // input_grad:   a = grad_output, b = w, c = a bias of dx's channels added to it (may be null;
  //               conv_transpose2d's bias), out = dx
  // weight_grad:  a = x, b = grad_output, out = dw
  void (*fn)(const Conv2dParams&, const T* a, const T* b, const T* c, T* out);
};

struct Conv2dAlgo {
  const char* name;
  const char* (*decline_reason)(const Conv2dParams&);  // nullptr when supported
  Conv2dRun<float> f32;
  Conv2dRun<double> f64;
  // Why "auto" should pass over a shape this candidate supports (another one is faster there);
  // nullptr = no objection. An explicit algorithm= request ignores it.
  const char* (*auto_decline_reason)(const Conv2dParams&) = nullptr;
  // The same where the weights are prepared once for many calls (a plan), when that differs;
  // nullptr = as auto_decline_reason.
  const char* (*prepared_auto_decline_reason)(const Conv2dParams&) = nullptr;
};

// The candidates for op, in "auto" order.
const std::vector<Conv2dAlgo>& conv2d_candidates(Conv2dOp op);
// Names offered by any op, in order (for _core.conv2d_algorithms()).
std::vector<std::string> conv2d_algorithm_names();
// "auto" or a registered name; throws std::invalid_argument naming the choices or the reason.
// With why != nullptr, also says why it chose it (and why earlier candidates declined).
// weights_prepared: the choice is for a plan, which prepares the weights once for many calls.
const Conv2dAlgo& select_conv2d(Conv2dOp op, const Conv2dParams& p, const std::string& algorithm,
                                std::string* why = nullptr, bool weights_prepared = false);

}  // namespace fastconv::ops
