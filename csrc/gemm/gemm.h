// BLIS-style GEMM driver: C (+)= A * B on row-major C, any-stride A and B.
//
// Loop nest (outside in): jc over N in NC columns -> pc over K in KC -> pack a KC x NC block of
// B (shared by the threads) -> ic over M in MC rows -> pack an MC x KC block of A (per thread)
// -> jr over NR-wide panels of the B block -> ir over MR-tall panels of the A block -> the
// micro-kernel (csrc/ukernels/gemm.h) on one MR x NR tile with the k loop inside it.
// Sizes are derived from the micro-kernel's tile and this machine family's caches (48 KiB L1d,
// 1 MiB L2, 32 MiB L3): the MC x KC block of A fills half of L2 across the jr loop, the KC x NC
// block of B an eighth of L3; KC is long (512) so the C tile's load/store is amortised, and the
// KC x NR micro-panel of B, reused across the ir loop, is served from L1/L2 (see blocking_for).
// When one MC block covers M (few rows), A is packed once per KC block and the loop runs pc ->
// jc -> ir -> jr instead, with B blocks sized for L2: each is read once, right after it is
// packed, and C is written MR rows at a time (all M rows at once are too many streams for the
// prefetchers when C is a large fresh output, as in a 1x1 convolution).
// Threads split the macro loop over M panels or over N panels, whichever balances better; no
// two threads write the same part of C, so results do not depend on scheduling.
#pragma once

#include <cstdint>

#include "runtime/workspace.h"
#include "ukernels/gemm.h"

namespace fastconv::gemm {

// A matrix operand: element (i, j) is p[i * rs + j * cs]. Transposes and strided views are
// only stride choices; packing reads any layout.
template <class T>
struct Operand {
  const T* p;
  int64_t rs, cs;
};

// B given by a function that writes packed panels itself, so an operand that exists only
// implicitly (the im2col matrix of a convolution) is never materialised:
//   pack(ctx, dst, nr, j0, valid, k0, kc) writes dst[k * nr + j] = B(k0 + k, j0 + j) for
//   k < kc, j < valid, and 0 for valid <= j < nr.
template <class T>
struct PanelSource {
  void (*pack)(const void* ctx, T* dst, int nr, int64_t j0, int64_t valid, int64_t k0, int64_t kc);
  const void* ctx;
};

struct Blocking {
  int64_t mc, kc, nc;
};

// The micro-kernel for the active ISA (FASTCONV_ISA / set_isa_cap), and its block sizes. An
// ISA level may offer several tiles; the one for an M x N product is the one that wastes the
// least of its register tile on padding (N = 0: not known yet, judged on M alone).
template <class T>
const ukernels::GemmUkernel<T>& active_ukernel(int64_t M = 0, int64_t N = 0);
// Block sizes for an M x N x K product (0: not known, the general sizes).
template <class T>
Blocking blocking_for(const ukernels::GemmUkernel<T>& uk, int64_t M = 0, int64_t N = 0,
                      int64_t K = 0);
// The depth of a k block where few rows of A stream a large B past them (blocking_for).
inline constexpr int64_t kStreamedBDepth = 32;

// How a product treats an A given as an Operand: packed block by block, or read in place by the
// micro-kernel (row-major A with unit column stride only). In place saves a pass over A that
// only pays off when each packed element meets many columns of B; automatic picks by N.
enum class AMode { automatic, pack, in_place };
// Automatic reads A in place for products with at most this many columns. Measured (AVX2, one
// thread, benchmarks/bench_gemm.py --a-modes): per product, in place runs at 0.96-1.04x the
// speed of an A packed in advance, so it wins wherever the packing pass is not amortised:
// 1.24x at 1000x64x1024, 1.03x at 512^3, 0.96x at 1024^3 against packing per call.
inline constexpr int64_t kAInPlaceMaxColumns = 512;
// Whether a product reads A in place (PackedA::view refuses an A it cannot read so).
bool a_in_place(AMode mode, int64_t a_col_stride, int64_t K, int64_t N);

// Threads worth using for an M x N x K product of elem-byte elements (1 below a size where
// forking costs more than it saves), at most max_threads().
int gemm_threads(int64_t M, int64_t N, int64_t K, int64_t elem);

// A packed once for many products with different B (convolution weights, plans). The layout
// belongs to the micro-kernel active when pack() ran; products use that kernel even if the ISA
// cap changes later.
template <class T>
class PackedA {
 public:
  // n_hint: the usual width of the B operands (0: unknown), to pick the best-fitting tile and
  // the depth of its k blocks (blocking_for).
  void pack(int64_t M, int64_t K, Operand<T> a, int64_t n_hint = 0);
  // Refers to A without copying it (a.cs must be 1 unless K is 1, else std::invalid_argument;
  // A must outlive the products): for an A used once against few columns, where packing would
  // cost more than it saves.
  void view(int64_t M, int64_t K, Operand<T> a, int64_t n_hint = 0);
  bool in_place() const { return data_ == nullptr; }
  const Operand<T>& source() const { return src_; }
  int64_t rows() const { return M_; }
  int64_t depth() const { return K_; }
  const ukernels::GemmUkernel<T>& ukernel() const { return *uk_; }
  const Blocking& blocking() const { return blk_; }
  // Packed only: the MR-panels of rows [ic, ...) for the k block starting at pc (a multiple
  // of kc).
  const T* block(int64_t pc, int64_t ic) const {
    const int64_t kc = K_ - pc < blk_.kc ? K_ - pc : blk_.kc;
    return data_ + pc * m_padded_ + ic * kc;
  }
  size_t bytes() const { return buf_.bytes(); }

 private:
  void set_shape(int64_t M, int64_t K, Operand<T> a, int64_t n_hint);
  int64_t M_ = 0, K_ = 0, m_padded_ = 0;
  Operand<T> src_{nullptr, 0, 0};
  const ukernels::GemmUkernel<T>* uk_ = nullptr;
  Blocking blk_{};
  AlignedBuffer buf_;
  T* data_ = nullptr;
};

// C[M x N] (+)= A[M x K] * B[K x N] (+ row_bias[i] in every column of row i, when row_bias is
// not null: the micro-kernels start from it, so a biased C is written once); C row-major with
// row stride ldc. threads <= 0 picks gemm_threads(M, N, K); 1 runs on the calling thread only
// (safe inside a parallel region).
template <class T>
void gemm(int64_t M, int64_t N, int64_t K, Operand<T> a, Operand<T> b, T* c, int64_t ldc,
          bool accumulate, int threads = 0, AMode a_mode = AMode::automatic,
          const T* row_bias = nullptr);
template <class T>
void gemm(const PackedA<T>& a, int64_t N, Operand<T> b, T* c, int64_t ldc, bool accumulate,
          int threads = 0, const T* row_bias = nullptr);
template <class T>
void gemm(const PackedA<T>& a, int64_t N, const PanelSource<T>& b, T* c, int64_t ldc,
          bool accumulate, int threads = 0, const T* row_bias = nullptr);
template <class T>
void gemm(int64_t M, int64_t N, int64_t K, Operand<T> a, const PanelSource<T>& b, T* c,
          int64_t ldc, bool accumulate, int threads = 0, AMode a_mode = AMode::automatic,
          const T* row_bias = nullptr);

}  // namespace fastconv::gemm
