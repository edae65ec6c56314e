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
