"""Keeping the process's resident memory close to the size of the data it holds (issue 14).

Two allocators sit under a workspace: pyarrow's (Parquet reading and pandas' Arrow-backed text columns) and the C
library's (numpy arrays, Python objects). Both keep freed memory for reuse. Arrow's default pool (mimalloc) kept
about 140 MB per million records after a workspace had been opened and converted, memory no longer used by anything;
with Arrow on the system allocator, one ``malloc_trim`` hands it back (measured on a 1M-record workspace: 283 MB
resident after open with mimalloc, 143 MB with the system pool after a trim; frames alone are 116 MB).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import mmap
import sys

log = logging.getLogger(__name__)

_configured = False


def use_system_allocator_for_arrow() -> None:
    """Route pyarrow's allocations through malloc so that ``release_unused_memory`` can return them. Idempotent;
    call before the first Arrow allocation (the workspace module does it on import)."""
    global _configured
    if _configured:
        return
    _configured = True
    try:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    except Exception:  # noqa: BLE001 - an allocator choice is an optimisation; the default pool works too
        log.warning("could not put Arrow on the system allocator; its own pool keeps freed memory", exc_info=True)


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _libc()


def release_unused_memory() -> None:
    """Give freed memory back to the operating system after a large load or conversion (a few milliseconds)."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # noqa: BLE001 - see above
        log.debug("Arrow's pool did not release unused memory", exc_info=True)
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


_MADV_DONTNEED = 4                # Linux
_GIVE_BACK_MIN = 64 << 20         # smaller buffers are freed quickly enough
_GIVE_BACK_PIECE = 64 << 20


def give_back_pages(data: bytes) -> None:
    """Hand the pages of a large bytes object back to the OS piece by piece, outside the GIL, just before its last
    reference goes (a file read whole for an import). Freeing an 866 MB bytes object in one go unmaps it with the GIL
    held: 120 ms during which the UI thread cannot run (benchmarks/stall_bench.py at 10M rows); each madvise call
    here releases the GIL, and the final free finds nothing left to unmap.

    Does nothing unless the caller's variable is the only reference (the contents read as zeros afterwards, so no one
    else may still see them), and off Linux."""
    if _LIBC is None or len(data) < _GIVE_BACK_MIN or not hasattr(_LIBC, "madvise"):
        return
    if sys.getrefcount(data) > 3:  # the caller's variable, this argument, getrefcount's argument
        return
    start = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
    page = mmap.PAGESIZE
    first = -(-start // page) * page             # whole pages inside the buffer only
    end = (start + len(data)) // page * page
    for at in range(first, end, _GIVE_BACK_PIECE):
        _LIBC.madvise(ctypes.c_void_p(at), ctypes.c_size_t(min(_GIVE_BACK_PIECE, end - at)),
                      ctypes.c_int(_MADV_DONTNEED))
