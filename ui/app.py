"""Start the GUI: names before settings, the map's URL scheme before the QApplication, then the window."""
from __future__ import annotations

import argparse
import sys

ORGANIZATION = "PSP"
APPLICATION = "Analyst Workstation"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="main.py", description="PSP Analyst Workstation")
    p.add_argument("workspace", nargs="?", help="a workspace file (.psw) to open")
    p.add_argument("--smoke-test", action="store_true",
                   help="open the window on the demo (or the given workspace) and quit after a few seconds")
    p.add_argument("--quit-after", type=float, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def register_map_scheme() -> None:
    # QWebEngineUrlScheme.registerScheme must run before the QApplication exists (docs/platform.md).
    from ui.map.scheme import register_scheme

    register_scheme()


def make_application(argv: list[str]):
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    register_map_scheme()
    app = QApplication.instance()
    if app is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        app = QApplication([sys.argv[0] if sys.argv else "psp-workstation"] + list(argv))
        app.setStyle("Fusion")
    app.setApplicationDisplayName("PSP Analyst Workstation")
    return app


def run(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    app = make_application([])
    from PySide6.QtCore import QTimer

    from ui.errors import install_error_handling

    install_error_handling()

    from ui.main_window import MainWindow

    win = MainWindow()
    if win.settings.get_bytes("window/geometry").isEmpty() and win.screen() is not None \
            and win.screen().availableGeometry().width() < 1600:
        # first start on a laptop screen: use all of it (without a window manager, fill it by hand)
        win.setGeometry(win.screen().availableGeometry())
        win.showMaximized()
    else:
        win.show()
    win.start(args.workspace)
    quit_after = args.quit_after if args.quit_after is not None else (8.0 if args.smoke_test else None)
    if quit_after is not None:
        def finish():
            if win.tasks.is_running():  # the first-start demo is still being built: give it time
                QTimer.singleShot(500, finish)
                return
            ok = win.state.workspace is not None
            win.shutdown()
            win.hide()
            print("smoke test: ok" if ok else "smoke test: no workspace", flush=True)
            app.exit(0 if ok else 1)

        QTimer.singleShot(int(quit_after * 1000), finish)
    return app.exec()
