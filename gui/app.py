"""``muser-gui [--checkpoint PATH]``: start MusER Studio.

Only Qt, pyqtgraph and the small plain modules of the library load here; the model library
(and torch) loads on the worker thread after the window is shown.
"""

from __future__ import annotations

import argparse
import logging
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="muser-gui", description="MusER Studio: compose piano music "
                                     "with a chosen emotion, and change the emotion of MIDI files.")
    parser.add_argument("--checkpoint", metavar="PATH", default=None,
                        help="model checkpoint folder (default: the shipped model)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the app; returns the exit code."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MusER Studio")
    app.setOrganizationName("MusER")
    from .main_window import MainWindow

    window = MainWindow(checkpoint=args.checkpoint)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
