"""Reliability tests: fuzzed imports, kill -9 during writes, formula injection, user-facing messages, the build.

The build test (``-m build``) runs only when PSP_RUN_BUILD=1: it takes minutes and ~0.7 GB of disk. Shared set-up
(offscreen Qt, the map's URL scheme, app files in tmp, the crash harness) is in tests/conftest.py.
"""
