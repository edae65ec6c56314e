"""PSP Analyst Workstation: the GUI by default; `import`, `export` and `demo` subcommands for headless use."""
from __future__ import annotations

import os
import sys

SUBCOMMANDS = {"import", "export", "demo", "info", "analyze"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS | {"-h", "--help"}:
        from workstation.cli import main as cli_main

        return cli_main(argv)
    # QtWebEngine refuses to start as root unless its sandbox is off.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    if "--smoke-test" in argv:
        # the build's self-check: window, demo, offline map, workbook export and reopen; exit code says how it went
        from ui.smoke import run_smoke_test

        return run_smoke_test(keep="--keep" in argv)
    from ui.app import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
