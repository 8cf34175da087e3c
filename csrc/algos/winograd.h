// Winograd convolution F(m x m, 3 x 3), m = 2, 4 or 6, and F(m x m, 2 x 2), m = 2 or 4, forward,
// on the packed GEMM micro-kernels. 4x4 stride-2 convs run as 2x2 ones on their 2x2
// space-to-depth phases (winograd_phase_params; their input gradient as one 2x2 conv per phase
// of dx, winograd_conv2d_input).
//
// The output is cut into m x m tiles; tile t reads the a x a input patch d_t (a = m + R - 1) at
// the tile's origin minus the padding, and with X = a * a transform positions xi:
//   U[xi] (Kg x Cg) = (G g G^T)[xi]        filter transform, once per call or per plan
//   V[xi] (Cg x T)  = (B^T d_t B)[xi]      input transform of a block of T tiles
//   M[xi] (Kg x T)  = U[xi] * V[xi]         X independent GEMMs
//   y_t             = A^T M_t A + bias      output transform
// F(4x4) does 36 multiplies per 16 outputs where direct does 144; F(2x2) 16 per 4 (36);
// F(6x6), only on explicit request ("winograd_f6": its float32 error is outside the bound
// "auto" keeps to), 64 per 36 (324).
//
// Layout, chosen so no GEMM operand is repacked per call: U is stored as the micro-kernel's
// MR-row panels ([g][xi][k panel][c][MR], planes skewed against cache-set aliasing), and the
// input transform writes V straight into NR-column panels ([xi][t panel][c][NR]), tiles in the
// vector lanes. The T tiles of a block
// are consecutive in (image, tile row, tile column) order, so blocks span images when the
// images are small. One block's V and M live in per-thread buffers sized for L2; threads take
// blocks (each runs its transforms and GEMMs on its own thread, no nested parallelism), and
// when there are fewer blocks than threads they split a block's output channels instead.
//
// Tile choice for algorithm "winograd" (winograd_default_tile): the tile whose X GEMMs compute
// fewer columns, counting tiles in whole NR-wide panels plus kWinogradFilterTransformColumns
// when the call transforms the filters (F(4x4)'s U is 36/16 the size of F(2x2)'s). That is
// F(4x4) except on small images, where 4x4 tiles cover mostly padding or fill a panel worse
// (r50 256@14 at N=1: 16 F(4x4) tiles in a 32-wide panel against 49 F(2x2) tiles in 64).
// Channel counts do not enter: measured on one core from 4 to 512 channels, F(4x4) beat
// F(2x2) at every count (its input and output transforms also touch fewer values per output,
// 36/16 against 16/4), so small channel counts are no reason for F(2x2) here; F(2x2)'s merit
// there is accuracy (no worse than direct), on request. "winograd_f2" / "winograd_f4" force a
// tile.
// A plan transforms its weights for the tile of the batch and input size it runs (again if a
// later size needs the other tile).
//
// Accuracy: F(4x4) amplifies rounding errors through its transform constants (up to 8 in A,
// 5 in B, 1/24 in G); README.md gives the measured error of each tile size.
#pragma once

#include <cstdint>

#include "gemm/gemm.h"
#include "ops/conv2d.h"
#include "runtime/workspace.h"
#include "ukernels/gemm.h"
#include "ukernels/winograd.h"

namespace fastconv::algos {

// "auto" passes Winograd over below this many input or output channels per group.
inline constexpr int64_t kWinogradAutoMinChannels = 32;
// A call's filter transform costs about as much as the GEMMs over this many more tiles
// (measured: 512x512 filters F(4x4) in 2.7 ms on one core, about 38 cycles per filter pair,
// against 72 flops per pair per tile in the GEMMs at ~55 flop/cycle).
inline constexpr int64_t kWinogradFilterTransformColumns = 32;
// A plan's Winograd calls need at least this many tiles (with the tile "winograd" picks for
// transformed-once filters). Measured on one thread, Winograd's time over im2col's, with a
// plan's calls back to back: 16 tiles 0.65-0.71 (256 and 512 channels on 7x7 maps, N=1), 9
// tiles 1.23 (512 on 5x5), 4-8 tiles 1.08-1.85 (64-512 channels on 2x2 to 4x4 maps); with every
// algorithm's plan called in turn, so each finds its filters evicted by the others' as in a
// network (benchmarks/auto_choice.py --plan): 16-18 tiles 0.47-1.18 (32-512 channels), 32 and
// more 0.53-0.92.
inline constexpr int64_t kWinogradPreparedMinTiles = 16;

// Why Winograd cannot run this shape (nullptr: it can): 3x3, stride 1; a dilation d > 1 when
// the image size and padding are multiples of d (the conv then runs on the d*d phase images);
// 2x2 (F(2x2, 2x2) or F(4x4, 2x2)) under the same rules; or 4x4, stride 2, undilated (run as
// a 2x2 conv on the 2x2 space-to-depth phases).
const char* winograd_declines(const ops::Conv2dParams& p);
// Whether p is a 4x4 stride-2 conv, which Winograd runs on space-to-depth phases.
bool winograd_on_space_to_depth(const ops::Conv2dParams& p);
// The stride-1 conv Winograd runs for p: on the phase images of a dilated conv (N*dh*dw
// images of (H/dh, W/dw), padding divided by the dilation), on the space-to-depth phases of a
// 4x4 stride-2 one (a 2x2 conv on 4C channels of (Ho + 1, Wo + 1), no padding), else p.
ops::Conv2dParams winograd_phase_params(const ops::Conv2dParams& p);
// Why "auto" should pass over a shape Winograd supports (nullptr: take it). Measured against
// the direct kernels (benchmarks/bench_winograd.py and side-by-side runs, one core): with 8 or
// 16 channels a group direct is 1.4-2x faster, at 32 about even (kWinogradAutoMinChannels);
// and a call with fewer tiles than its filter transform's worth loses (r50 512@7 at N=1, 16
// tiles: 1.6x slower than direct on AVX-512, 1.2x slower than im2col on AVX2; at N=8, 32 F(4x4)
// tiles, 1.5x faster than im2col on AVX2; benchmarks/auto_choice.py).
const char* winograd_auto_declines(const ops::Conv2dParams& p);
// The same for a plan, whose filters are transformed once: no call pays for the transform, but
// every call reads the transformed filters (36/9 the weights in F(4x4), 16/9 in F(2x2)) from
// wherever they lie, L3 or memory, which only enough tiles repay (kWinogradPreparedMinTiles).
const char* winograd_prepared_auto_declines(const ops::Conv2dParams& p);
// The same for the input gradient of p (a forward conv), judged on the conv it runs.
const char* winograd_input_auto_declines(const ops::Conv2dParams& p);
// The output tile size m (2 or 4) that algorithm "winograd" uses for p, 3x3 or 2x2 kernels
// alike; weights_cached: the filters were transformed earlier (a plan), so their transform
// costs this call nothing.
int winograd_default_tile(const ops::Conv2dParams& p, bool weights_cached);
// The tile a registered algorithm name runs with, or 0 when it is not a Winograd variant.
int winograd_named_tile(const char* name, const ops::Conv2dParams& p);

// Where a conv's R x R filters lie: tap q of the filter from input channel c to output channel
// k of group g is base[g * g_stride + k * k_stride + c * c_stride + taps[q]]. So filters are read
// where they lie, whatever their order (the input gradient of a 4x4 stride-2 conv reads each
// phase's 2x2 filters straight out of the 4x4 ones).
template <class T>
struct WinogradFilters {
  const T* base;
  int64_t g_stride, k_stride, c_stride;
  int32_t taps[16];
  // When set, input channel c of a group lies c_offsets[c] from the group's base rather than
  // c * c_stride (the phase channels of a 4x4 stride-2 conv: phase p of channel c starts at
  // tap (p / 2, p % 2) of filter c).
  const int64_t* c_offsets = nullptr;
};

// Transformed filters laid out as GEMM A panels; pack once, run many times (plans keep one).
// The layout belongs to the ISA active when pack() ran; runs use that ISA's kernels.
template <class T>
class WinogradWeights {
 public:
  // m: output tile size, 2, 4 or 6 (2 or 4 for 2x2 kernels). w: (K, C / groups, R, R),
  // C-contiguous, R = 3 or 2, or 4 for a 4x4 stride-2 p (packed for its phases).
  void pack(const ops::Conv2dParams& p, const T* w, int m);
  // The same for a stride-1 3x3 or 2x2 p whose filters lie as f says.
  void pack(const ops::Conv2dParams& p, const WinogradFilters<T>& f, int m);
  // pack() in steps, for a caller that transforms panels where it uses them: lay_out sizes the
  // buffer for p in tile m; transform_panels fills panels [kp0, kp1) of group g on the calling
  // thread, transform_all every panel on the pool (f must be the filters of that p).
  void lay_out(const ops::Conv2dParams& p, int m);
  void transform_panels(const WinogradFilters<T>& f, int64_t g, int64_t kp0, int64_t kp1);
  void transform_all(const WinogradFilters<T>& f);
  // transform_all for `sets` weights at once, w[s] from f[s], which differ only in their taps,
  // all within the first 16 of each filter (the phases of a 4x4 stride-2 conv's 4x4 filters):
  // each filter is read once. Every w[s] must be laid out alike (lay_out with equal shapes).
  static void transform_all_sets(WinogradWeights* const* w, const WinogradFilters<T>* f,
                                 int sets);
  int tile() const { return m_; }
  int kernel() const { return r_; }  // R = S: 3, or 2 for F(2x2, 2x2)
  int64_t groups() const { return G_; }
  int64_t k_per_group() const { return Kg_; }
  int64_t c_per_group() const { return Cg_; }
  int64_t k_panels() const { return kpanels_; }
  const ukernels::GemmUkernel<T>& gemm_ukernel() const { return *gemm_; }
  const ukernels::WinogradUkernels<T>& transforms() const { return *transforms_; }
  // The Cg x MR panel of U[xi] for output channels [kp * MR, kp * MR + MR) of group g.
  const T* panel(int64_t g, int64_t xi, int64_t kp) const {
    return data_ + (g * (m_ + r_ - 1) * (m_ + r_ - 1) + xi) * u_xi_ + kp * Cg_ * gemm_->mr;
  }
  size_t bytes() const { return buf_.bytes(); }

 private:
  // Calls transform(src, offsets, lanes, u_off, rows) for each chunk of panels [kp0, kp1) of
  // group g: its filters at src + offsets[lane], lanes of them, transformed into the planes
  // from data_ + u_off, of which rows of each MR are real (the rest must be zeroed).
  template <class Transform>
  void for_each_chunk(const WinogradFilters<T>& f, int32_t max_tap, int64_t g, int64_t kp0,
                      int64_t kp1, Transform&& transform) const;
  void zero_rows(T* u, int64_t channels, int64_t rows) const;

  int m_ = 0, r_ = 3;
  int64_t G_ = 0, Kg_ = 0, Cg_ = 0, kpanels_ = 0;
  int64_t u_xi_ = 0;  // elements between the planes of consecutive xi
  const ukernels::GemmUkernel<T>* gemm_ = nullptr;
  const ukernels::WinogradUkernels<T>* transforms_ = nullptr;
  AlignedBuffer buf_;
  T* data_ = nullptr;
};

template <class T>
void winograd_conv2d_forward(const ops::Conv2dParams& p, const T* x, const WinogradWeights<T>& w,
                             const T* bias, T* y);
// Transforms w into a per-thread buffer kept between calls, then runs (each part of the work
// transforms the filters it alone uses, where every filter has one user). m = 0: the default
// tile.
template <class T>
void winograd_conv2d_forward(const ops::Conv2dParams& p, const T* x, const T* w, const T* bias,
                             T* y, int m);

// The input gradient of a 3x3 stride-1 conv is itself a 3x3 stride-1 conv: grad_output
// correlated with the kernel flipped and its channel axes swapped, same dilation d, padded by
// 2d - p on each side (so padding above 2d has no such form). winograd_input_params gives that
// forward conv (which may still decline, as a forward conv, on a dilated geometry).
ops::Conv2dParams winograd_input_params(const ops::Conv2dParams& p);
const char* winograd_input_declines(const ops::Conv2dParams& p);
template <class T>
void winograd_conv2d_input(const ops::Conv2dParams& p, const T* grad_output, const T* w,
                           const T* bias, T* dx);

}  // namespace fastconv::algos
