// Reusable 64-byte-aligned scratch memory. Kernels keep their buffers between calls so the hot
// path neither allocates nor page-faults once warm (fresh large blocks fault at ~0.4 ms/MB here).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace fastconv {

// A growable buffer; growing discards the contents (callers overwrite before reading).
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) {
    o.p_ = nullptr;
    o.bytes_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      std::free(p_);
      p_ = o.p_; bytes_ = o.bytes_;
      o.p_ = nullptr; o.bytes_ = 0;
    }
    return *this;
  }
  ~AlignedBuffer() { std::free(p_); }

  template <class T>
  T* get(size_t count) {
    const size_t need = (count * sizeof(T) + 63) / 64 * 64;
    if (bytes_ < need) {
      std::free(p_);
      p_ = nullptr;
      bytes_ = 0;
      p_ = allocate(need);
      bytes_ = need;
    }
    return static_cast<T*>(p_);
  }
  size_t bytes() const { return bytes_; }

 private:
  // Buffers of two huge pages and more are huge-page aligned and advised for transparent huge
  // pages (where the kernel's THP mode is "madvise", as here): streaming tens of MiB through 4
  // KiB pages misses the TLB on every page (Winograd's transformed filters at 512 channels,
  // N=8 on two threads: 11-14% of the layer's time).
  static constexpr size_t kHugePage = size_t(2) << 20;
  static void* allocate(size_t bytes) {
    if (bytes < 2 * kHugePage) {
      void* p = std::aligned_alloc(64, bytes);
      if (!p) throw std::bad_alloc();
      return p;
    }
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
  }
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

// Named per-thread scratch slots, one AlignedBuffer each, living as long as the thread (the
// OpenMP pool's threads persist, so their buffers are reused call after call).
enum class ScratchSlot : int {
  gemm_a = 0, gemm_b = 1, im2col = 2, partial = 3, transposed = 4, transposed_col = 5,
  winograd_phases_in = 6, winograd_phases_out = 7, winograd_1d_filters = 8,
  winograd_1d_inputs = 9, winograd_1d_products = 10, count = 11
};

inline AlignedBuffer& thread_scratch(ScratchSlot slot) {
  thread_local AlignedBuffer slots[static_cast<int>(ScratchSlot::count)];
  return slots[static_cast<int>(slot)];
}

}  // namespace fastconv
