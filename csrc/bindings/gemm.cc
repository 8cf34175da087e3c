// _core.gemm and _core.GemmPackedA: the GEMM engine reachable from Python for tests and
// benchmarks. Operands may be any strided 2-D view (transposes included); no copy is made.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "bindings/arrays.h"
#include "gemm/gemm.h"

namespace py = pybind11;

namespace fastconv::bindings {
namespace {

template <class T>
gemm::Operand<T> operand(const py::array& a, const char* name) {
  if (a.ndim() != 2) throw py::value_error(std::string("gemm: ") + name + " must be 2-D");
  const py::ssize_t item = static_cast<py::ssize_t>(sizeof(T));
  if (a.strides(0) % item != 0 || a.strides(1) % item != 0)
    throw py::value_error(std::string("gemm: ") + name +
                          " strides must be multiples of the item size");
  return {static_cast<const T*>(a.data()), a.strides(0) / item, a.strides(1) / item};
}

gemm::AMode a_mode_from(const std::string& mode) {
  if (mode == "auto") return gemm::AMode::automatic;
  if (mode == "pack") return gemm::AMode::pack;
  if (mode == "in_place") return gemm::AMode::in_place;
  throw py::value_error("gemm: a_mode must be 'auto', 'pack' or 'in_place', got '" + mode + "'");
}

// The optional per-row bias: None, or M values of the operands' dtype (copied if strided).
template <class T>
py::array_t<T, py::array::c_style> row_bias_of(const py::object& bias, int64_t M) {
  if (bias.is_none()) return py::array_t<T, py::array::c_style>();
  const py::array arr = py::array::ensure(bias);
  if (!arr || !arr.dtype().equal(py::dtype::of<T>()))
    throw py::type_error("gemm: row_bias must be an array of the operands' dtype");
  if (arr.ndim() != 1 || arr.shape(0) != M)
    throw py::value_error("gemm: row_bias must be 1-D with a.shape[0] values");
  return py::array_t<T, py::array::c_style>::ensure(arr);
}

template <class T>
py::array gemm_t(const py::array& a, const py::array& b, int threads, gemm::AMode a_mode,
                 const py::object& row_bias) {
  gemm::Operand<T> ao = operand<T>(a, "a"), bo = operand<T>(b, "b");
  const int64_t M = a.shape(0), K = a.shape(1), N = b.shape(1);
  if (b.shape(0) != K) throw py::value_error("gemm: a.shape[1] must equal b.shape[0]");
  const auto bias = row_bias_of<T>(row_bias, M);
  const T* bp = row_bias.is_none() ? nullptr : bias.data();
  carray<T> c = empty<T>({M, N});
  T* cp = c.mutable_data();
  {
    KernelScope scope;
    gemm::gemm<T>(M, N, K, ao, bo, cp, N, false, threads, a_mode, bp);
  }
  return std::move(c);
}

// A packed once (float32 or float64); matmul(b) reuses the packing.
class PyPackedA {
 public:
  PyPackedA(const py::array& a, int64_t n_hint) {
    if (n_hint < 0) throw py::value_error("GemmPackedA: n_hint must be >= 0");
    if (is_f32(a)) {
      f32_ = std::make_unique<gemm::PackedA<float>>();
      pack(*f32_, a, n_hint);
    } else if (is_f64(a)) {
      f64_ = std::make_unique<gemm::PackedA<double>>();
      pack(*f64_, a, n_hint);
    } else {
      throw py::type_error("GemmPackedA: expected a float32 or float64 array");
    }
  }

  py::array matmul(const py::array& b, int threads, const py::object& row_bias) const {
    if (f32_) return apply(*f32_, b, threads, row_bias);
    return apply(*f64_, b, threads, row_bias);
  }

  std::string ukernel() const { return f32_ ? f32_->ukernel().name : f64_->ukernel().name; }
  size_t packed_bytes() const { return f32_ ? f32_->bytes() : f64_->bytes(); }

 private:
  template <class T>
  static void pack(gemm::PackedA<T>& p, const py::array& a, int64_t n_hint) {
    gemm::Operand<T> ao = operand<T>(a, "a");
    p.pack(a.shape(0), a.shape(1), ao, n_hint);
  }

  template <class T>
  static py::array apply(const gemm::PackedA<T>& p, const py::array& b, int threads,
                         const py::object& row_bias) {
    if (!b.dtype().equal(py::dtype::of<T>()))
      throw py::type_error("GemmPackedA: b must have a's dtype");
    gemm::Operand<T> bo = operand<T>(b, "b");
    if (b.shape(0) != p.depth()) throw py::value_error("gemm: a.shape[1] must equal b.shape[0]");
    const auto bias = row_bias_of<T>(row_bias, p.rows());
    const T* bp = row_bias.is_none() ? nullptr : bias.data();
    const int64_t N = b.shape(1);
    carray<T> c = empty<T>({p.rows(), N});
    T* cp = c.mutable_data();
    {
      KernelScope scope;
      gemm::gemm<T>(p, N, bo, cp, N, false, threads, bp);
    }
    return std::move(c);
  }

  std::unique_ptr<gemm::PackedA<float>> f32_;
  std::unique_ptr<gemm::PackedA<double>> f64_;
};

}  // namespace

void register_gemm(py::module_& m) {
  m.def(
      "gemm",
      [](const py::array& a, const py::array& b, int threads, const std::string& a_mode,
         const py::object& row_bias) -> py::array {
        if (!a.dtype().equal(b.dtype())) throw py::type_error("gemm: a and b must share one dtype");
        const gemm::AMode mode = a_mode_from(a_mode);
        if (is_f32(a)) return gemm_t<float>(a, b, threads, mode, row_bias);
        if (is_f64(a)) return gemm_t<double>(a, b, threads, mode, row_bias);
        throw py::type_error("gemm: expected float32 or float64 arrays");
      },
      py::arg("a"), py::arg("b"), py::arg("threads") = 0, py::arg("a_mode") = "auto",
      py::arg("row_bias") = py::none(),
      "a @ b for 2-D float32/float64 arrays of any strides; threads=0 picks a count by size.\n"
      "a_mode: 'pack' packs a block by block, 'in_place' has the micro-kernel read a's rows\n"
      "where they lie (a must have unit column stride), 'auto' picks by b's width.\n"
      "row_bias: None or a.shape[0] values, row_bias[i] added to every column of row i.");
  m.attr("GEMM_A_IN_PLACE_MAX_COLUMNS") = gemm::kAInPlaceMaxColumns;
  m.def(
      "gemm_ukernel", [](const std::string& dtype, int64_t M, int64_t N) -> std::string {
        if (dtype == "float64") return gemm::active_ukernel<double>(M, N).name;
        return gemm::active_ukernel<float>(M, N).name;
      },
      py::arg("dtype") = "float32", py::arg("M") = 0, py::arg("N") = 0,
      "The GEMM micro-kernel the active ISA level selects for an M x N product (0: unknown).");
  py::class_<PyPackedA>(m, "GemmPackedA", "A GEMM left operand packed once for repeated products.")
      .def(py::init<const py::array&, int64_t>(), py::arg("a"), py::arg("n_hint") = 0,
           "n_hint: the usual width of the b operands (0: unknown), which picks the micro-kernel\n"
           "and the depth of the k blocks (one or two panels of a against a b over L2 take\n"
           "shallow ones: 14x2048x512 ran 1.7x faster with the hint).")
      .def("matmul", &PyPackedA::matmul, py::arg("b"), py::arg("threads") = 0,
           py::arg("row_bias") = py::none())
      .def_property_readonly("ukernel", &PyPackedA::ukernel)
      .def_property_readonly("packed_bytes", &PyPackedA::packed_bytes);
}

}  // namespace fastconv::bindings
