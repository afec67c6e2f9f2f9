"""Start the desktop app (``bci-valence gui``), optionally screenshot it and exit."""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)


def is_headless() -> bool:
    """True when no display can be used (offscreen Qt, or Linux without X11/Wayland)."""
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return True
    if sys.platform.startswith("linux"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


def display_problem(timeout: float = 30.0) -> str | None:
    """Why Qt cannot open a window here, or None when it can.

    Qt aborts the whole process (``could not load the Qt platform plugin "xcb"``, a
    core dump) when its platform plugin cannot start: no X server behind ``DISPLAY``,
    a missing ``libxcb-cursor0``... So a child process tries first and its messages
    become the reason. Offscreen and minimal platforms always work.

    Parameters
    ----------
    timeout : float
        Seconds the child may take.

    Returns
    -------
    str | None
        One readable line, or None.
    """
    import subprocess

    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal")):
        return None
    if is_headless():
        return "no display: DISPLAY and WAYLAND_DISPLAY are unset"
    probe = "import sys\nfrom PySide6.QtGui import QGuiApplication\napp = QGuiApplication(sys.argv[:1])\nprint('ok')"
    try:
        proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return f"Qt did not open the display within {timeout:g} s"
    if proc.returncode == 0 and "ok" in proc.stdout:
        return None
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    useful = [ln.removeprefix("qt.qpa.plugin: ").removeprefix("qt.qpa.xcb: ") for ln in lines
              if ln.startswith("qt.qpa") or "could not" in ln.lower() or "cannot" in ln.lower()]
    where = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or "?"
    reason = " ".join(useful[:3]) or (lines[-1] if lines else f"exit status {proc.returncode}")
    reason = reason.rstrip(".")
    return f"Qt cannot open a window on display {where!r}: {reason}"


def _application():
    from . import qt_compat  # noqa: F401

    from PySide6 import QtWidgets

    from .settings import APPLICATION, ORGANISATION

    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("bci-valence")
    return app


def make_window(source: str | None = None, bundle: str | None = None, calibration_s: float | None = None,
                settings_file: str | None = None):
    """Create (not show) the main window; ``settings_file`` is an INI used instead of
    the user's settings."""
    from PySide6.QtCore import QSettings

    from .main_window import MainWindow

    _application()
    qsettings = QSettings(str(settings_file), QSettings.Format.IniFormat) if settings_file else None
    window = MainWindow(qsettings=qsettings, source=source, calibration_s=calibration_s)
    if bundle:
        window.panel.bundle_path.setText(bundle)
    if calibration_s is not None:
        window.panel.calibration.setValue(float(calibration_s))
    return window


def run_gui(source: str | None = None, bundle: str | None = None, calibration_s: float | None = None,
            screenshot: str | None = None, after: float = 20.0, settings_file: str | None = None,
            autostart: bool | None = None) -> int:
    """Show the window and run the Qt event loop.

    Parameters
    ----------
    source : str, optional
        Source spec; when given the session starts at once.
    screenshot : str, optional
        Save a PNG of the window ``after`` seconds after start, then exit.
    autostart : bool, optional
        Start the session at once (default: when ``source`` or ``screenshot`` is given).

    Returns
    -------
    int
        Process exit code (1 when the screenshot could not be written).
    """
    from PySide6 import QtCore

    app = _application()
    window = make_window(source, bundle, calibration_s, settings_file)
    window.show()
    if autostart is None:
        autostart = bool(source or screenshot)
    if autostart:
        QtCore.QTimer.singleShot(0, window.start_session)
    result = {"code": 0}
    if screenshot:
        def shoot() -> None:
            try:
                path = window.save_screenshot(screenshot)
                print(f"screenshot saved: {path}")
                if window.last_error:
                    print(f"window shows an error: {window.last_error}", file=sys.stderr)
            except Exception as err:  # noqa: BLE001
                print(f"cannot save the screenshot {screenshot}: {err}", file=sys.stderr)
                result["code"] = 1
            window.close()
            app.quit()

        QtCore.QTimer.singleShot(int(max(after, 0.0) * 1000), shoot)
    app.exec()
    window.shutdown()
    return result["code"]
