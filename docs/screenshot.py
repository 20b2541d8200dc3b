"""Start the real app on the shipped model, compose two pieces, and save a screenshot.

    xvfb-run -s "-screen 0 1500x950x24" python docs/screenshot.py docs/screenshot.png

Also prints how long the window took to appear and the model to load (start-up target: a usable
window within 3 s). Settings and the session go to a temporary home, not the user's.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

STARTED = time.monotonic()
HOME = tempfile.mkdtemp(prefix="muser-shot-")
os.environ.update(HOME=HOME, XDG_CONFIG_HOME=f"{HOME}/config", XDG_DATA_HOME=f"{HOME}/data",
                  XDG_CACHE_HOME=f"{HOME}/cache")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_for(app, condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    return condition()


def main(out: str) -> int:
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.setGeometry(0, 0, 1500, 950)  # no window manager under xvfb: fill the screen
    window.show()
    app.processEvents()
    print(f"window shown after {time.monotonic() - STARTED:.2f} s")
    if not wait_for(app, lambda: window.model_info is not None, 60):
        print("the model did not load", file=sys.stderr)
        return 1
    print(f"model ready after {time.monotonic() - STARTED:.2f} s")
    window.compose.emotion.set_value(-0.7, -0.6)
    window.compose.bars.setValue(8)
    window.compose.variations.setValue(2)
    window.compose.generate_button.click()
    if not wait_for(app, lambda: len(window.results) >= 2 and not window.worker.busy, 120):
        print("generation did not finish", file=sys.stderr)
        return 1
    wait_for(app, lambda: False, 2.0)  # latent view and piano roll repaint
    shot = app.primaryScreen().grabWindow(0)  # the X server's framebuffer, not a widget render
    shot.save(out)
    print(f"wrote {out} ({shot.width()}x{shot.height()})")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png"))
