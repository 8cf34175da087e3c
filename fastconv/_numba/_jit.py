"""Shared decorator for the Numba kernels.

Every kernel is ``@njit(parallel=..., cache=True)`` and compiled lazily, on its first call
for a given dtype signature (no signatures are given, so nothing compiles at import).

Where the compiled code is cached (numba 0.68, ``numba.core.caching``): numba tries, in
order, ``NUMBA_CACHE_DIR`` if the user set it (we never set or override it), then the
``__pycache__`` folder next to this package's sources (when it is writable), then a
user-wide folder (``appdirs.user_cache_dir("numba")``, e.g. ``~/.cache/numba/<pkgdir>_<sha1>``,
honouring ``XDG_CACHE_HOME``). Each candidate is tried by creating the folder and a temporary
file in it at *decoration* time (import of the kernel module), so a read-only site-packages
falls back to the user-wide folder transparently. Entries are keyed by the kernel's
qualified name, its first source line, a hash of the source file's content, the argument
types and the CPU, so a reinstall of changed sources never loads stale code. This works
because every kernel is a plain module-level function (no closures, no generated code).

If no location is writable at all, numba raises ``RuntimeError("cannot cache function")``
from the decorator; ``njit_cached`` catches that and falls back to an uncached (still lazy)
kernel so importing never fails.
"""
from __future__ import annotations

import numba

# FMA contraction only: keeps IEEE semantics for NaN/inf (pooling relies on isnan) while
# letting LLVM fuse a*b+c into vfmadd.
FASTMATH = {"contract"}


def njit_cached(parallel=False, fastmath=False):
    def deco(fn):
        try:
            return numba.njit(parallel=parallel, cache=True, fastmath=fastmath,
                              nogil=True)(fn)
        except RuntimeError:  # no writable cache location anywhere
            return numba.njit(parallel=parallel, cache=False, fastmath=fastmath,
                              nogil=True)(fn)
    return deco


# numba is imported lazily (here, with the first kernel module), so a thread count chosen
# earlier (FASTCONV_NUM_THREADS, fc.set_num_threads) is handed to it now.
from .. import _threads  # noqa: E402

_threads.apply_to_numba()
