"""Keep numpy's OpenBLAS to one thread in this process.

The entity recogniser's matrix products run on numpy's BLAS (see `ner`), which by
default starts a thread per core. A worker is one process per core, and an enricher
thread that spreads one article over every core only makes the workers fight: one
thread, set at run time (the environment variables work only before numpy loads,
and a worker cannot rely on whoever started it having set them).
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path

log = logging.getLogger(__name__)

# numpy's wheels rename the library and its symbols (64-bit integer builds get a suffix).
_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)


def _loaded_openblas() -> list[Path]:
    """The OpenBLAS libraries this process has mapped (numpy loads its own on import)."""
    import numpy  # noqa: F401  (its BLAS must be loaded to be found)

    found: dict[str, Path] = {}
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:  # not Linux: leave the default
        return []
    for line in maps.splitlines():
        path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
        if "openblas" in Path(path).name.lower():
            found.setdefault(path, Path(path))
    return list(found.values())


def limit_threads(threads: int = 1) -> int:
    """Set every loaded OpenBLAS to `threads`; returns how many libraries were set."""
    done = 0
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:
            continue
        for name in _SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter.argtypes = [ctypes.c_int]
                setter(threads)
                done += 1
                break
    if not done:
        log.info("no OpenBLAS found to limit to %d thread(s)", threads)
    return done


def openblas_threads() -> list[int]:
    """Each loaded OpenBLAS's thread count (for the tests and the benchmark)."""
    counts = []
    for path in _loaded_openblas():
        lib = ctypes.CDLL(str(path))
        for name in (
            "scipy_openblas_get_num_threads64_",
            "openblas_get_num_threads64_",
            "scipy_openblas_get_num_threads",
            "openblas_get_num_threads",
        ):
            getter = getattr(lib, name, None)
            if getter is not None:
                getter.restype = ctypes.c_int
                counts.append(int(getter()))
                break
    return counts
