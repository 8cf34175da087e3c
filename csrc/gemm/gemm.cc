#include "gemm/gemm.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "runtime/cpu.h"
#include "runtime/parallel.h"

namespace fastconv::gemm {
namespace {

using ukernels::GemmUkernel;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

// dst[k * width + i] = src[i * inner_stride + k * depth_stride] for i < valid, 0 for the rest
// of the width: one MR-panel of A or NR-panel of B, zero-padded so micro-kernels never branch.
// The loop-distribution pattern pass is off: it would turn each panel-row copy (a handful of
// elements) into a memmove call, which cost 40% of a transposed conv whose W^T is packed per
// call (dcgan_g3, N=1).
template <class T>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void pack_panel(
    T* __restrict dst, const T* src, int width, int64_t valid, int64_t inner_stride,
    int64_t depth, int64_t depth_stride) {
  if (inner_stride == 1) {
    for (int64_t k = 0; k < depth; ++k) {
      const T* s = src + k * depth_stride;
      T* d = dst + k * width;
      for (int64_t i = 0; i < valid; ++i) d[i] = s[i];
      for (int64_t i = valid; i < width; ++i) d[i] = T(0);
    }
    return;
  }
  if (depth_stride == 1) {
    // Four source rows at a time: each destination store then fills four adjacent elements.
    int64_t i = 0;
    for (; i + 4 <= valid; i += 4) {
      const T* s0 = src + i * inner_stride;
      const T* s1 = s0 + inner_stride;
      const T* s2 = s1 + inner_stride;
      const T* s3 = s2 + inner_stride;
      for (int64_t k = 0; k < depth; ++k) {
        T* d = dst + k * width + i;
        d[0] = s0[k];
        d[1] = s1[k];
        d[2] = s2[k];
        d[3] = s3[k];
      }
    }
    for (; i < valid; ++i) {
      const T* s = src + i * inner_stride;
      for (int64_t k = 0; k < depth; ++k) dst[k * width + i] = s[k];
    }
  } else {
    for (int64_t k = 0; k < depth; ++k)
      for (int64_t i = 0; i < valid; ++i)
        dst[k * width + i] = src[i * inner_stride + k * depth_stride];
  }
  if (valid < width)
    for (int64_t k = 0; k < depth; ++k)
      for (int64_t i = valid; i < width; ++i) dst[k * width + i] = T(0);
}

// Packs rows [i0, i0 + rows) x depth [p0, p0 + kc) of A as consecutive MR-panels.
template <class T>
void pack_a_block(T* dst, Operand<T> a, int mr, int64_t i0, int64_t rows, int64_t p0, int64_t kc) {
  for (int64_t ir = 0; ir < rows; ir += mr)
    pack_panel(dst + ir * kc, a.p + (i0 + ir) * a.rs + p0 * a.cs, mr, min64(mr, rows - ir), a.rs,
               kc, a.cs);
}

// The MC x KC block of A that the jr/ir loops multiply. Packed: MR-panels at `panels`. In place:
// rows [0, full) read where they lie, the partial MR-panel after them (the in-place kernel reads
// all MR rows) packed into `panels`.
template <class T>
struct ABlock {
  const T* panels = nullptr;
  const T* rows = nullptr;
  int64_t lda = 0, full = 0;

  void tile(const GemmUkernel<T>& uk, int64_t ir, int64_t kc, const T* bpanel, T* c, int64_t ldc,
            int64_t m, int64_t n, bool acc, const T* row_bias) const {
    if (ir < full) uk.fn_a_in_place(kc, rows + ir * lda, lda, bpanel, c, ldc, m, n, acc, row_bias);
    else uk.fn(kc, panels + (ir - full) * kc, bpanel, c, ldc, m, n, acc, row_bias);
  }
};

// Rows [ic, ic + mc) x depth [pc, pc + kc) of A as the micro-kernels take them: from `packed`
// (packed in advance or a view of A in place) or packed now into `scratch` (mc x kc elements).
template <class T>
ABlock<T> a_block(const PackedA<T>* packed, Operand<T> a, int mr, int64_t ic, int64_t mc,
                  int64_t pc, int64_t kc, T* scratch) {
  ABlock<T> blk;
  if (packed && !packed->in_place()) {
    blk.panels = packed->block(pc, ic);
  } else if (packed) {
    const Operand<T>& src = packed->source();
    blk.rows = src.p + ic * src.rs + pc;
    blk.lda = src.rs;
    blk.full = mc / mr * mr;
    if (blk.full < mc) {
      pack_panel(scratch, blk.rows + blk.full * blk.lda, mr, mc - blk.full, blk.lda, kc, 1);
      blk.panels = scratch;
    }
  } else {
    pack_a_block(scratch, a, mr, ic, mc, pc, kc);
    blk.panels = scratch;
  }
  return blk;
}

// Rows [0, kc) of `full` whole NR-wide panels from a row-major source (row stride rs), row by
// row across the panels, each panel row a copy of known length: memcpy's call cost more than
// its 128-192 bytes (dcgan_g3 at N=1, one thread: 0.610 -> 0.577 ms).
template <int kNR, class T>
void copy_whole_panels(T* __restrict dst, const T* __restrict rows, int64_t rs, int64_t full,
                       int64_t kc) {
  for (int64_t k = 0; k < kc; ++k)
    for (int64_t q = 0; q < full; ++q) {
      const T* __restrict src = rows + k * rs + q * kNR;
      T* __restrict d = dst + (q * kc + k) * kNR;
#pragma GCC unroll 64
      for (int e = 0; e < kNR; ++e) d[e] = src[e];
    }
}

// Either a strided operand or a PanelSource, behind one panel-packing call.
template <class T>
struct BSource {
  const Operand<T>* op;
  const PanelSource<T>* fn;
  // Element (k0, j0) where B's rows can be read in place (row-major), else null.
  const T* rows_at(int64_t k0, int64_t j0) const {
    return !fn && op->cs == 1 ? op->p + k0 * op->rs + j0 : nullptr;
  }
  void pack(T* dst, int nr, int64_t j0, int64_t valid, int64_t k0, int64_t kc) const {
    if (fn) fn->pack(fn->ctx, dst, nr, j0, valid, k0, kc);
    else pack_panel(dst, op->p + k0 * op->rs + j0 * op->cs, nr, valid, op->cs, kc, op->rs);
  }
  // Columns [j0, j0 + ncols) as consecutive NR-panels (panel q at dst + q * nr * kc). A
  // row-major operand is copied row by row across all the panels: packing panel by panel would
  // touch every row once per panel, each touch a new cache line and often a new page (rows of
  // a large matrix are pages apart), for only nr elements.
  void pack_panels(T* dst, int nr, int64_t j0, int64_t ncols, int64_t k0, int64_t kc) const {
    if (fn || op->cs != 1) {
      for (int64_t j = 0; j < ncols; j += nr)
        pack(dst + j * kc, nr, j0 + j, min64(nr, ncols - j), k0, kc);
      return;
    }
    const int64_t full = ncols / nr, tail = ncols - full * nr;
    const T* rows = op->p + k0 * op->rs + j0;
    switch (nr) {  // the micro-kernels' widths
      case 48: copy_whole_panels<48>(dst, rows, op->rs, full, kc); break;
      case 32: copy_whole_panels<32>(dst, rows, op->rs, full, kc); break;
      case 16: copy_whole_panels<16>(dst, rows, op->rs, full, kc); break;
      case 8: copy_whole_panels<8>(dst, rows, op->rs, full, kc); break;
      default:
        for (int64_t k = 0; k < kc; ++k)
          for (int64_t q = 0; q < full; ++q)
            std::memcpy(dst + k * nr + q * nr * kc, rows + k * op->rs + q * nr, nr * sizeof(T));
    }
    T* tail_panel = dst + full * nr * kc;
    for (int64_t k = 0; tail && k < kc; ++k) {
      std::memcpy(tail_panel + k * nr, rows + k * op->rs + full * nr, tail * sizeof(T));
      std::memset(tail_panel + k * nr + tail, 0, (nr - tail) * sizeof(T));
    }
  }
};

template <class F>
void run_threads(int threads, F&& body) {
  if (threads <= 1) {
    body(0);
    return;
  }
  parallel_for(threads, body);
}

// Items [begin, end) of n split into `parts` near-equal contiguous ranges.
void split(int64_t n, int parts, int part, int64_t* begin, int64_t* end) {
  *begin = n * part / parts;
  *end = n * (part + 1) / parts;
}

// Fraction of the threads' time that is useful when `units` equal units are split `threads` ways.
double balance(int64_t units, int threads) {
  return static_cast<double>(units) / (threads * ceil_div(units, threads));
}

// The bias of rows from i on, added by the first k block only (later ones accumulate onto it).
template <class T>
const T* bias_from(const T* row_bias, int64_t pc, int64_t i) {
  return row_bias && pc == 0 ? row_bias + i : nullptr;
}

// One thread, the whole loop nest.
template <class T>
void serial_driver(int64_t M, int64_t N, int64_t K, const PackedA<T>* packed, Operand<T> a,
                   const BSource<T>& b, int64_t col0, T* c, int64_t ldc, bool accumulate,
                   const T* row_bias, const GemmUkernel<T>& uk, const Blocking& blk) {
  const int mr = uk.mr, nr = uk.nr;
  const int64_t b_elems = blk.kc * min64(blk.nc, ceil_div(N, nr) * nr);
  const int64_t a_elems = min64(blk.mc, ceil_div(M, mr) * mr) * min64(blk.kc, K);
  T* bpack = thread_scratch(ScratchSlot::gemm_b).get<T>(b_elems);
  T* apack = thread_scratch(ScratchSlot::gemm_a).get<T>(a_elems);
  if (M <= blk.mc) {
    // One MC block: A is packed once per k block and the B blocks (L2-sized, see driver) stream
    // past it. Each MR-panel of A sweeps the whole B block, so C is written MR rows at a time.
    for (int64_t pc = 0; pc < K; pc += blk.kc) {
      const int64_t kc = min64(blk.kc, K - pc);
      const bool acc = accumulate || pc > 0;
      const ABlock<T> ablock = a_block(packed, a, mr, 0, M, pc, kc, apack);
      for (int64_t jc = 0; jc < N; jc += blk.nc) {
        const int64_t nc = min64(blk.nc, N - jc);
        // B's whole panels where B is row-major (and A packed): with one A panel, each element
        // of B is read once, so they are read where they lie (a DCGAN generator's first layer at
        // N=1: 0.196 -> 0.140 ms); with two, the first A panel reads them where they lie and
        // writes them packed as it goes, for the second (in place for all of them: dcgan_g3 at
        // N=1, 8 A panels, 0.60 -> 0.71 ms), so no packing pass precedes the arithmetic, which
        // hides the first reads of B (one thread, dcgan_g2 at N=1: 1.13-1.20x faster). The
        // first panel reads a few lines from each of kc rows in turn, which the hardware
        // prefetchers do not follow, so each read waits on its miss; with more A panels a
        // packing pass, which reads B row by row, won: B from memory (1x1 convs at N=8, one
        // thread: 64->80 channels on 147x147 maps 1.47x faster, r50_1x1_64-256@56 1.04x), and
        // from L3 within 4% either way (dcgan_g3 at N=1 on par, 64x2048x256 0.96x).
        // Only a partial last panel is packed beforehand.
        const bool read_b_in_place = ablock.full == 0 && ceil_div(M, mr) <= 2;
        const T* brows = read_b_in_place ? b.rows_at(pc, col0 + jc) : nullptr;
        const int64_t whole = brows ? nc / nr * nr : 0;
        b.pack_panels(bpack + whole * kc, nr, col0 + jc + whole, nc - whole, pc, kc);
        for (int64_t ir = 0; ir < M; ir += mr) {
          const int64_t m = min64(mr, M - ir);
          const T* bias = bias_from(row_bias, pc, ir);
          T* crow = c + ir * ldc + jc;
          for (int64_t j = 0; j < whole; j += nr) {
            if (M <= mr)
              uk.fn_b_in_place(kc, ablock.panels, brows + j, b.op->rs, crow + j, ldc, m, nr, acc,
                               bias);
            else if (ir == 0)  // a whole A panel, as fn_packing_b needs: M > MR
              uk.fn_packing_b(kc, ablock.panels, brows + j, b.op->rs, bpack + j * kc, crow + j,
                              ldc, acc, bias);
            else
              ablock.tile(uk, ir, kc, bpack + j * kc, crow + j, ldc, m, nr, acc, bias);
          }
          for (int64_t j = whole; j < nc; j += nr)
            ablock.tile(uk, ir, kc, bpack + j * kc, crow + j, ldc, m, min64(nr, nc - j), acc,
                        bias);
        }
      }
    }
    return;
  }
  for (int64_t jc = 0; jc < N; jc += blk.nc) {
    const int64_t nc = min64(blk.nc, N - jc);
    for (int64_t pc = 0; pc < K; pc += blk.kc) {
      const int64_t kc = min64(blk.kc, K - pc);
      const bool acc = accumulate || pc > 0;
      b.pack_panels(bpack, nr, col0 + jc, nc, pc, kc);
      for (int64_t ic = 0; ic < M; ic += blk.mc) {
        const int64_t mc = min64(blk.mc, M - ic);
        const ABlock<T> ablock = a_block(packed, a, mr, ic, mc, pc, kc, apack);
        for (int64_t j = 0; j < nc; j += nr)
          for (int64_t ir = 0; ir < mc; ir += mr)
            ablock.tile(uk, ir, kc, bpack + j * kc, c + (ic + ir) * ldc + jc + j, ldc,
                        min64(mr, mc - ir), min64(nr, nc - j), acc,
                        bias_from(row_bias, pc, ic + ir));
      }
    }
  }
}

// Threads over M panels with one shared packed B block per (jc, pc): two fork/joins per block.
template <class T>
void split_m_driver(int64_t M, int64_t N, int64_t K, const PackedA<T>* packed, Operand<T> a,
                    const BSource<T>& b, T* c, int64_t ldc, bool accumulate, const T* row_bias,
                    const GemmUkernel<T>& uk, const Blocking& blk, int threads) {
  const int mr = uk.mr, nr = uk.nr;
  const int64_t m_panels = ceil_div(M, mr);
  const int64_t b_elems = blk.kc * min64(blk.nc, ceil_div(N, nr) * nr);
  T* bpack = thread_scratch(ScratchSlot::gemm_b).get<T>(b_elems);
  for (int64_t jc = 0; jc < N; jc += blk.nc) {
    const int64_t nc = min64(blk.nc, N - jc);
    const int64_t n_panels = ceil_div(nc, nr);
    for (int64_t pc = 0; pc < K; pc += blk.kc) {
      const int64_t kc = min64(blk.kc, K - pc);
      const bool acc = accumulate || pc > 0;
      run_threads(threads, [&](int64_t t) {
        int64_t j0, j1;
        split(n_panels, threads, static_cast<int>(t), &j0, &j1);
        if (j0 < j1)
          b.pack_panels(bpack + j0 * nr * kc, nr, jc + j0 * nr, min64(j1 * nr, nc) - j0 * nr, pc,
                        kc);
      });
      run_threads(threads, [&](int64_t t) {
        int64_t mp0, mp1;
        split(m_panels, threads, static_cast<int>(t), &mp0, &mp1);
        if (mp0 >= mp1) return;
        const int64_t a_elems = min64(blk.mc, (mp1 - mp0) * mr) * kc;
        T* apack = thread_scratch(ScratchSlot::gemm_a).get<T>(a_elems);
        const int64_t i_end = min64(mp1 * mr, M);
        for (int64_t ic = mp0 * mr; ic < i_end; ic += blk.mc) {
          const int64_t mc = min64(blk.mc, i_end - ic);
          const ABlock<T> ablock = a_block(packed, a, mr, ic, mc, pc, kc, apack);
          for (int64_t jp = 0; jp < n_panels; ++jp) {
            const int64_t j = jp * nr;
            for (int64_t ir = 0; ir < mc; ir += mr)
              ablock.tile(uk, ir, kc, bpack + j * kc, c + (ic + ir) * ldc + jc + j, ldc,
                          min64(mr, mc - ir), min64(nr, nc - j), acc,
                          bias_from(row_bias, pc, ic + ir));
          }
        }
      });
    }
  }
}

// Useful fraction of the threads' time when they split N: the balance of the N panels, less
// the A blocks every thread packs for itself (about one cycle per element against 2 * N / 64
// cycles of multiply-adds per element per thread; nothing when A is packed in advance).
double n_split_efficiency(int64_t N, int64_t n_panels, int threads, bool a_prepacked) {
  double e = balance(n_panels, threads);
  if (!a_prepacked) e *= 1.0 - (32.0 * threads / N < 0.5 ? 32.0 * threads / N : 0.5);
  return e;
}

template <class T>
void driver(int64_t M, int64_t N, int64_t K, const PackedA<T>* packed, Operand<T> a,
            const BSource<T>& b, T* c, int64_t ldc, bool accumulate, const T* row_bias,
            int threads, AMode a_mode = AMode::pack) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // C (+)= row_bias
    for (int64_t i = 0; i < M; ++i) {
      T* row = c + i * ldc;
      const T add = row_bias ? row_bias[i] : T(0);
      for (int64_t j = 0; j < N; ++j) row[j] = (accumulate ? row[j] : T(0)) + add;
    }
    return;
  }
  if (threads <= 0) threads = gemm_threads(M, N, K, sizeof(T));
  PackedA<T> view;
  if (!packed && a_in_place(a_mode, a.cs, K, N)) {
    view.view(M, K, a, N);
    packed = &view;
  }
  const GemmUkernel<T>& uk = packed ? packed->ukernel() : active_ukernel<T>(M, N);
  Blocking blk = packed ? packed->blocking() : blocking_for(uk, M, N, K);
  // With one MC block of A the packed B block is consumed once, right after packing: sized for
  // L2 rather than L3, it is still in cache when the micro-kernels read it (a transposed conv
  // whose W is B, 16 rows x 8 MB, spent as long packing B into an L3-sized block as in the
  // product).
  if (M <= blk.mc) {
    const int64_t l2_columns = kL2Bytes / 2 / (min64(K, blk.kc) * static_cast<int64_t>(sizeof(T)));
    blk.nc = min64(blk.nc, max64(uk.nr, l2_columns / uk.nr * uk.nr));
  }
  const int64_t m_panels = ceil_div(M, uk.mr), n_panels = ceil_div(N, uk.nr);
  if (threads <= 1) {
    serial_driver(M, N, K, packed, a, b, 0, c, ldc, accumulate, row_bias, uk, blk);
  } else if ((M <= blk.mc && n_panels >= threads) ||
             n_split_efficiency(N, n_panels, threads, packed != nullptr) >=
                 balance(m_panels, threads)) {
    // Column slices are independent problems: one fork/join for the whole product, no shared
    // buffer, so a thread the host deschedules for a while delays only its own slice. With few
    // rows they always win: split by rows, every thread would stream the whole packed B for
    // only its few rows (dcgan_g2 N=1, 16 x 4096 x 512 as 2 x 8 rows: 1.3 ms, as 2 x 2048
    // columns: 0.63 ms).
    parallel_for(threads, [&](int64_t t) {
      int64_t j0, j1;
      split(n_panels, threads, static_cast<int>(t), &j0, &j1);
      const int64_t col0 = j0 * uk.nr, col1 = min64(j1 * uk.nr, N);
      if (col0 >= col1) return;
      serial_driver(M, col1 - col0, K, packed, a, b, col0, c + col0, ldc, accumulate, row_bias,
                    uk, blk);
    });
  } else {
    split_m_driver(M, N, K, packed, a, b, c, ldc, accumulate, row_bias, uk, blk, threads);
  }
}

// Fraction of the tiles' multiply-adds that do useful work for an M x N product.
double tile_use(int64_t M, int64_t N, int mr, int nr) {
  double use = 1.0;
  if (M > 0) use *= static_cast<double>(M) / (ceil_div(M, mr) * mr);
  if (N > 0) use *= static_cast<double>(N) / (ceil_div(N, nr) * nr);
  return use;
}

// Per ISA level, its tiles in order of preference when they waste the same.
template <class T>
const GemmUkernel<T>& pick(const GemmUkernel<T>* first, int count, int64_t M, int64_t N) {
  const GemmUkernel<T>* best = first;
  for (int i = 1; i < count; ++i)
    if (tile_use(M, N, first[i].mr, first[i].nr) > tile_use(M, N, best->mr, best->nr) + 1e-9)
      best = first + i;
  return *best;
}

}  // namespace

template <>
const GemmUkernel<float>& active_ukernel<float>(int64_t M, int64_t N) {
  using namespace ukernels;
  static const GemmUkernel<float> scalar[] = {
      {"f32_gemm_4x8_scalar", 4, 8, f32_gemm_4x8_scalar, f32_gemm_4x8_scalar_a_in_place,
       f32_gemm_4x8_scalar_b_in_place, f32_gemm_4x8_scalar_packing_b}};
  static const GemmUkernel<float> avx2[] = {
      {"f32_gemm_6x16_avx2", 6, 16, f32_gemm_6x16_avx2, f32_gemm_6x16_avx2_a_in_place,
       f32_gemm_6x16_avx2_b_in_place, f32_gemm_6x16_avx2_packing_b}};
  // 14x32: 28 accumulators, each broadcast feeds 2 FMAs; 8x48: 24 accumulators, 3 FMAs per
  // broadcast, and an exact fit for the multiples of 8 that channel counts usually are.
  static const GemmUkernel<float> avx512[] = {
      {"f32_gemm_14x32_avx512", 14, 32, f32_gemm_14x32_avx512, f32_gemm_14x32_avx512_a_in_place,
       f32_gemm_14x32_avx512_b_in_place, f32_gemm_14x32_avx512_packing_b},
      {"f32_gemm_8x48_avx512", 8, 48, f32_gemm_8x48_avx512, f32_gemm_8x48_avx512_a_in_place,
       f32_gemm_8x48_avx512_b_in_place, f32_gemm_8x48_avx512_packing_b}};
  switch (active_isa()) {
    case Isa::avx512: return pick(avx512, 2, M, N);
    case Isa::avx2: return pick(avx2, 1, M, N);
    default: return pick(scalar, 1, M, N);
  }
}

template <>
const GemmUkernel<double>& active_ukernel<double>(int64_t, int64_t) {
  using namespace ukernels;
  static const GemmUkernel<double> k[] = {
      {"f64_gemm_4x4_scalar", 4, 4, f64_gemm_4x4_scalar, f64_gemm_4x4_scalar_a_in_place,
       f64_gemm_4x4_scalar_b_in_place, f64_gemm_4x4_scalar_packing_b},
      {"f64_gemm_6x8_avx2", 6, 8, f64_gemm_6x8_avx2, f64_gemm_6x8_avx2_a_in_place,
       f64_gemm_6x8_avx2_b_in_place, f64_gemm_6x8_avx2_packing_b},
      {"f64_gemm_14x16_avx512", 14, 16, f64_gemm_14x16_avx512, f64_gemm_14x16_avx512_a_in_place,
       f64_gemm_14x16_avx512_b_in_place, f64_gemm_14x16_avx512_packing_b},
  };
  return k[static_cast<int>(active_isa())];
}

template <class T>
Blocking blocking_for(const GemmUkernel<T>& uk, int64_t M, int64_t N, int64_t K) {
  const int64_t s = sizeof(T);
  Blocking b;
  // A long k loop amortises the load and store of the C tile. The KC x NR micro-panel of B
  // (64 KiB for 14x32 f32) then streams from L2 rather than sitting in L1, which L2 bandwidth
  // covers: per k the kernel reads MR + NR elements for MR * NR / lanes FMAs. Measured on Zen 5
  // (14x32 f32, M=N=K=512..1024, one thread): KC 512 beat 192 / 256 / 384 / 768 by 3-10%.
  b.kc = 512;
  // At most two MR-panels of A give each element of B at most 4 * MR multiply-adds, so a B
  // larger than L2 bounds the product by its reads from L3 or memory. A panel walks KC rows of
  // B at once, one stream per row (rows are pages apart), and the hardware prefetchers follow
  // only a few dozen streams: KC 512 left them behind and each line missed in turn. Measured
  // (Xeon, one thread, f32): 16x4096x512 1.24x faster at KC 32, 8x8192x100 1.52x, 12x2048x512
  // 1.44x; with B in L2 (16x512x512, 8x1024x256) 0.92-1.05x, and from 32 rows up no gain.
  if (M > 0 && ceil_div(M, uk.mr) <= 2 && K * N * s > kL2Bytes)
    b.kc = ceil_div(K, ceil_div(K, kStreamedBDepth));
  // Half of L2 for the MC x KC block of A.
  b.mc = max64(uk.mr, kL2Bytes / 2 / (b.kc * s) / uk.mr * uk.mr);
  // An eighth of the shared L3 for the KC x NC block of B.
  b.nc = max64(uk.nr, kL3Bytes / 8 / (b.kc * s) / uk.nr * uk.nr);
  return b;
}

int gemm_threads(int64_t M, int64_t N, int64_t K, int64_t elem) {
  // A fork/join costs a few microseconds; below ~4 MFLOP per extra thread it does not pay,
  // unless reading the operands costs more than the arithmetic: a matrix-vector product with
  // megabytes of weights (a DCGAN generator's first layer at N=1, 100 x 1 x 8192, 3.3 MB for
  // 1.6 MFLOP: 0.16-0.19 -> 0.06-0.10 ms on two threads). Products whose arithmetic outweighs
  // their reads keep the FLOP rule (dcgan_g5 at N=1, 6 MFLOP over 0.5 MB, ran 10% slower split).
  const double flops = 2.0 * M * N * K;
  int t = max_threads();
  while (t > 1 && flops / t < 4e6) --t;
  const double read_ns =
      stream_ns(static_cast<double>(M * K + K * N + M * N) * static_cast<double>(elem));
  return read_ns > flops_ns(flops) ? std::max(t, threads_for(read_ns)) : t;
}

template <class T>
void PackedA<T>::set_shape(int64_t M, int64_t K, Operand<T> a, int64_t n_hint) {
  uk_ = &active_ukernel<T>(M, n_hint);
  blk_ = blocking_for(*uk_, M, n_hint, K);
  M_ = M;
  K_ = K;
  m_padded_ = ceil_div(M, uk_->mr) * uk_->mr;
  src_ = a;
}

// Panels per item when packing an A stored by columns.
constexpr int64_t kTransposeSpan = 32;

template <class T>
void PackedA<T>::pack(int64_t M, int64_t K, Operand<T> a, int64_t n_hint) {
  set_shape(M, K, a, n_hint);
  data_ = buf_.get<T>(max64(1, m_padded_ * K));
  // Per call for plan-less convolutions, so threaded: the weights of a large layer are
  // megabytes, whose packing a lone thread would leave the others waiting for.
  const int mr = uk_->mr;
  const int64_t panels = ceil_div(M, mr), blocks = ceil_div(K, blk_.kc);
  if (a.rs == 1 && a.cs != 1 && panels >= kTransposeSpan) {
    // A stored by columns (a transposed weight matrix): panel by panel, each k jumped a whole
    // source row for MR elements, so nearly every read was a cache miss. Here a span of
    // panels is packed kRows source rows at a time: the rows are read as runs across the span
    // and each panel gets kRows * MR consecutive elements.
    constexpr int64_t kRows = 16;
    // Spans of up to kTransposeSpan panels, as many as make an even share for each thread.
    const int64_t threads = max_threads();
    const int64_t spans = threads * ceil_div(panels, threads * kTransposeSpan);
    const int64_t span = ceil_div(panels, spans);
    parallel_for_cost(spans * blocks, stream_ns(2.0 * M * K * sizeof(T)), [&](int64_t item) {
      const int64_t pc = item / spans * blk_.kc, kc = min64(blk_.kc, K - pc);
      const int64_t p0 = item % spans * span, p1 = min64(panels, p0 + span);
      T* block = data_ + pc * m_padded_;
      for (int64_t k0 = 0; k0 < kc; k0 += kRows)
        for (int64_t pn = p0; pn < p1; ++pn) {
          const int64_t ir = pn * mr;
          pack_panel(block + ir * kc + k0 * mr, a.p + ir + (pc + k0) * a.cs, mr,
                     min64(mr, M - ir), 1, min64(kRows, kc - k0), a.cs);
        }
    });
    return;
  }
  parallel_for_cost(panels * blocks, stream_ns(2.0 * M * K * sizeof(T)), [&](int64_t item) {
    const int64_t pc = item / panels * blk_.kc, ir = item % panels * mr;
    const int64_t kc = min64(blk_.kc, K - pc);
    pack_panel(data_ + pc * m_padded_ + ir * kc, a.p + ir * a.rs + pc * a.cs, mr,
               min64(mr, M - ir), a.rs, kc, a.cs);
  });
}

template <class T>
void PackedA<T>::view(int64_t M, int64_t K, Operand<T> a, int64_t n_hint) {
  // One column has no column stride to speak of (a transposed vector, say).
  if (K == 1) a.cs = 1;
  if (a.cs != 1) throw std::invalid_argument("gemm: A read in place needs a unit column stride");
  set_shape(M, K, a, n_hint);
  data_ = nullptr;
}

bool a_in_place(AMode mode, int64_t a_col_stride, int64_t K, int64_t N) {
  return mode == AMode::in_place || (mode == AMode::automatic && (a_col_stride == 1 || K == 1) &&
                                     N <= kAInPlaceMaxColumns);
}

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, Operand<T> a, Operand<T> b, T* c, int64_t ldc,
          bool accumulate, int threads, AMode a_mode, const T* row_bias) {
  driver<T>(M, N, K, nullptr, a, BSource<T>{&b, nullptr}, c, ldc, accumulate, row_bias, threads,
            a_mode);
}

template <class T>
void gemm(const PackedA<T>& a, int64_t N, Operand<T> b, T* c, int64_t ldc, bool accumulate,
          int threads, const T* row_bias) {
  driver<T>(a.rows(), N, a.depth(), &a, Operand<T>{nullptr, 0, 0}, BSource<T>{&b, nullptr}, c,
            ldc, accumulate, row_bias, threads);
}

template <class T>
void gemm(const PackedA<T>& a, int64_t N, const PanelSource<T>& b, T* c, int64_t ldc,
          bool accumulate, int threads, const T* row_bias) {
  driver<T>(a.rows(), N, a.depth(), &a, Operand<T>{nullptr, 0, 0}, BSource<T>{nullptr, &b}, c,
            ldc, accumulate, row_bias, threads);
}

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, Operand<T> a, const PanelSource<T>& b, T* c,
          int64_t ldc, bool accumulate, int threads, AMode a_mode, const T* row_bias) {
  driver<T>(M, N, K, nullptr, a, BSource<T>{nullptr, &b}, c, ldc, accumulate, row_bias, threads,
            a_mode);
}

template Blocking blocking_for<float>(const GemmUkernel<float>&, int64_t, int64_t, int64_t);
template Blocking blocking_for<double>(const GemmUkernel<double>&, int64_t, int64_t, int64_t);
template class PackedA<float>;
template class PackedA<double>;
template void gemm<float>(int64_t, int64_t, int64_t, Operand<float>, Operand<float>, float*,
                          int64_t, bool, int, AMode, const float*);
template void gemm<double>(int64_t, int64_t, int64_t, Operand<double>, Operand<double>, double*,
                           int64_t, bool, int, AMode, const double*);
template void gemm<float>(const PackedA<float>&, int64_t, Operand<float>, float*, int64_t, bool,
                          int, const float*);
template void gemm<float>(const PackedA<float>&, int64_t, const PanelSource<float>&, float*,
                          int64_t, bool, int, const float*);
template void gemm<double>(const PackedA<double>&, int64_t, const PanelSource<double>&, double*,
                           int64_t, bool, int, const double*);
template void gemm<float>(int64_t, int64_t, int64_t, Operand<float>, const PanelSource<float>&,
                          float*, int64_t, bool, int, AMode, const float*);
template void gemm<double>(int64_t, int64_t, int64_t, Operand<double>, const PanelSource<double>&,
                           double*, int64_t, bool, int, AMode, const double*);
template void gemm<double>(const PackedA<double>&, int64_t, Operand<double>, double*, int64_t,
                           bool, int, const double*);

}  // namespace fastconv::gemm
