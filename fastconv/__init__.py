"""fastconv: fast CPU convolution, padding and pooling for NumPy, with PyTorch's semantics.

    import fastconv as fc
    y = fc.conv2d(x, w, b, stride=1, padding=1)          # as torch.nn.functional.conv2d
    fc.info()                                             # version, backends, ISA, threads

Environment (read once at import): FASTCONV_BACKEND (cpp | numba | reference),
FASTCONV_ISA (scalar | avx2 | avx512: the highest level the kernels may use),
FASTCONV_NUM_THREADS.
"""
from __future__ import annotations

import os as _os

from ._version import __version__
from . import _dispatch
from . import grad, shapes
from ._threads import get_num_threads, set_num_threads
from .functional import (avg_pool2d, conv2d, conv_transpose2d, max_pool2d, min_pool2d, pad)
from .plan import Conv2dPlan

__all__ = ["conv2d", "Conv2dPlan", "conv_transpose2d", "pad", "max_pool2d", "min_pool2d", "avg_pool2d", "grad",
           "shapes", "set_num_threads", "get_num_threads", "set_backend", "get_backend", "info",
           "__version__"]


def set_backend(name: str) -> None:
    """Sets the process default backend: 'cpp', 'numba' or 'reference'."""
    _dispatch.set_default(name)


def get_backend() -> str:
    return _dispatch.default()


def _apply_isa_cap() -> None:
    isa = _os.environ.get("FASTCONV_ISA", "").strip().lower()
    if isa and _dispatch._core is not None:
        _dispatch._core.set_isa_cap(isa)      # raises ValueError naming the choices
    elif isa and isa not in ("scalar", "avx2", "avx512"):
        raise ValueError(f"FASTCONV_ISA must be one of ['scalar', 'avx2', 'avx512'], got '{isa}'")


_apply_isa_cap()


def info() -> dict:
    """What this process runs: version, backends, ISA levels, threads, OpenMP."""
    core = _dispatch._core
    result = {
        "version": __version__,
        "backend": _dispatch.default(),
        "backends": list(_dispatch.available()),
        "isa_detected": core.isa_detected() if core else None,
        "isa_active": core.isa_active() if core else None,
        "num_threads": get_num_threads(),
        "openmp": core.openmp if core else None,
        "conv_algorithms": {name: list(_dispatch.get(name).conv_algorithms)
                            for name in _dispatch.available() if name != "numba"},
    }
    result["conv_algorithms"]["numba"] = ["direct"]
    return result
