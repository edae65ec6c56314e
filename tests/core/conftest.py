"""Shared fixtures for core tests: the calibrated demo workspace, built once per test session.

Tests that reproduce the case study's tables (Table 1, the district tables, the PSP-area tables, gun recoveries) use
``demo_ws`` (the in-memory Workspace) or ``demo_path`` (the same workspace saved to a .psw file). Treat both as
read-only: copy a frame before changing it.
"""
import pytest


@pytest.fixture(scope="session")
def demo_ws():
    from workstation.demo.records import build_demo

    return build_demo()


@pytest.fixture(scope="session")
def demo_path(demo_ws, tmp_path_factory):
    from workstation.core.workspace import write_atomic

    path = tmp_path_factory.mktemp("demo") / "demo.psw"
    write_atomic(demo_ws, path, fsync=False)  # not ws.save(): that would give the shared workspace a path
    return path
