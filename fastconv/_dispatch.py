"""Backend choice: which implementation of the `_backend_api.Backend` contract runs a call.

The default is read once at import from FASTCONV_BACKEND (cpp | numba | reference); without
it, the compiled backend when `fastconv._core` loads, else numba (with one warning).
"""
from __future__ import annotations

import importlib
import os
import warnings

BACKENDS = ("cpp", "numba", "reference")
_MODULES = {"cpp": "fastconv._cpp", "numba": "fastconv._numba", "reference": "fastconv.reference"}
_loaded: dict = {}
_core_error: str | None = None

try:
    from . import _core  # noqa: F401
except ImportError as exc:  # the extension was not built or cannot load here
    _core = None
    _core_error = str(exc)


def available() -> tuple:
    """Backends that can run in this process."""
    return tuple(b for b in BACKENDS if b != "cpp" or _core is not None)


def _initial_default() -> str:
    requested = os.environ.get("FASTCONV_BACKEND", "").strip().lower()
    if requested and requested not in BACKENDS:
        raise ValueError(f"FASTCONV_BACKEND must be one of {list(BACKENDS)}, got '{requested}'")
    if (requested or "cpp") == "cpp" and _core is None:
        warnings.warn(f"fastconv: the compiled extension could not be loaded ({_core_error}); "
                      f"using the numba backend", RuntimeWarning, stacklevel=3)
        return "numba"
    return requested or "cpp"


_default = _initial_default()


def default() -> str:
    return _default


def set_default(name: str) -> None:
    global _default
    _default = _check_name(name)


def _check_name(name) -> str:
    if name not in BACKENDS:
        raise ValueError(f"backend must be None or one of {list(BACKENDS)}, got {name!r}")
    if name == "cpp" and _core is None:
        raise ValueError(f"backend 'cpp' is not available: the compiled extension could not be "
                         f"loaded ({_core_error})")
    return name


def get(name=None):
    """The backend module for `name` (None: the process default)."""
    name = _default if name is None else _check_name(name)
    module = _loaded.get(name)
    if module is None:
        module = _loaded[name] = importlib.import_module(_MODULES[name])
        if name == "numba":
            from . import _threads
            _threads.apply_to_numba()
    return module
