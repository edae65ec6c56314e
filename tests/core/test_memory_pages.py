"""give_back_pages: a big file's bytes are handed back to the OS piece by piece before they are dropped (a single
free of an 866 MB bytes object held the GIL for 120 ms, stalling the UI thread during a 10M-row import)."""
import pytest

from workstation.core import memory

linux_only = pytest.mark.skipif(memory._LIBC is None or not hasattr(memory._LIBC, "madvise"),
                                reason="pages are handed back through Linux's madvise only")


@linux_only
def test_the_pages_of_a_sole_reference_go_back():
    data = b"x" * (memory._GIVE_BACK_MIN + 12345)
    memory.give_back_pages(data)
    # the whole pages inside the buffer were released (they read as zeros now); the caller drops it next
    middle = len(data) // 2
    assert data[middle:middle + 4096] == bytes(4096)
    assert data.count(b"x") < 2 * 4096            # at most the partial pages at either end keep their bytes


@linux_only
def test_a_buffer_someone_else_still_holds_is_left_alone():
    data = b"x" * (memory._GIVE_BACK_MIN + 1)
    other = data
    memory.give_back_pages(data)
    assert other.count(b"x") == len(other)
    view = memoryview(data)                          # a buffer export counts as a holder too
    del other
    memory.give_back_pages(data)
    assert view[len(data) // 2] == ord("x")


def test_small_buffers_are_left_to_free():
    data = b"y" * 4096
    memory.give_back_pages(data)
    assert data == b"y" * 4096
