"""One thread count for every backend: the C++ kernels' OpenMP pool and numba's pool.

Read once at import from FASTCONV_NUM_THREADS; numba is configured only once it is loaded, so
importing fastconv does not import numba.
"""
from __future__ import annotations

import os
import sys

from . import _dispatch
from ._validate import positive_int

_requested: int | None = None


def set_num_threads(n: int) -> None:
    """Number of threads the kernels use (all backends)."""
    global _requested
    _requested = positive_int(n, "num_threads")
    if _dispatch._core is not None:
        _dispatch._core.set_num_threads(_requested)
    apply_to_numba()


def get_num_threads() -> int:
    if _requested is not None:
        return _requested
    if _dispatch._core is not None:
        return _dispatch._core.get_num_threads()
    return os.cpu_count() or 1


def apply_to_numba() -> None:
    if _requested is not None and "numba" in sys.modules:
        import numba
        numba.set_num_threads(min(_requested, numba.config.NUMBA_NUM_THREADS))


def _from_environment() -> None:
    value = os.environ.get("FASTCONV_NUM_THREADS", "").strip()
    if value:
        try:
            n = int(value)
        except ValueError:
            raise ValueError(f"FASTCONV_NUM_THREADS must be a positive integer, got '{value}'") from None
        set_num_threads(n)


_from_environment()
