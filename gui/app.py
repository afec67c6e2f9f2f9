"""Start the desktop app (``bci-valence gui``), optionally screenshot it and exit."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: The Debian/Ubuntu package of each system library that Qt 6's xcb platform plugin
#: (``libqxcb.so``) and the Qt libraries under it load, by soname. PySide6's wheels ship
#: Qt but none of these; README.md's set-up lists the same packages.
QT_SYSTEM_PACKAGES: dict[str, str] = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def is_headless() -> bool:
    """True when no display can be used (offscreen Qt, or Linux without X11/Wayland)."""
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return True
    if sys.platform.startswith("linux"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


def xcb_plugin_path() -> Path | None:
    """``libqxcb.so`` of the installed PySide6, found without importing Qt."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def missing_libraries(ldd_output: str) -> list[str]:
    """Sonames that ``ldd`` reports as ``not found``, each once, in its order."""
    found: list[str] = []
    for line in ldd_output.splitlines():
        name, _, where = line.strip().partition("=>")
        name = name.strip()
        if where.strip() == "not found" and name not in found:
            found.append(name)
    return found


def qt_library_problem(plugin: Path | None = None) -> str | None:
    """Which system libraries keep Qt's xcb plugin from loading, and their packages.

    Qt itself names only ``libxcb-cursor0`` whatever is missing, so the plugin's
    dependencies are read with ``ldd`` instead.

    Parameters
    ----------
    plugin : Path, optional
        The plugin to check (default :func:`xcb_plugin_path`).

    Returns
    -------
    str | None
        One readable sentence naming the missing libraries and the Debian/Ubuntu
        packages that hold them; None when nothing is missing, or off Linux, or when
        ``ldd`` or the plugin is unavailable.
    """
    import shutil
    import subprocess

    plugin = plugin if plugin is not None else xcb_plugin_path()
    ldd = shutil.which("ldd")
    if not sys.platform.startswith("linux") or plugin is None or ldd is None:
        return None
    try:
        proc = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    missing = missing_libraries(proc.stdout)
    if not missing:
        return None
    packages = list(dict.fromkeys(QT_SYSTEM_PACKAGES[m] for m in missing if m in QT_SYSTEM_PACKAGES))
    unknown = [m for m in missing if m not in QT_SYSTEM_PACKAGES]
    hints = [f"on Debian/Ubuntu: sudo apt-get install {' '.join(packages)}"] if packages else []
    if unknown:
        hints.append(f"and the packages providing {', '.join(unknown)}")
    return f"Qt's xcb platform plugin cannot load: missing {', '.join(missing)} ({'; '.join(hints)})"


def display_problem(timeout: float = 30.0) -> str | None:
    """Why Qt cannot open a window here, or None when it can.

    Qt aborts the whole process (``could not load the Qt platform plugin "xcb"``, a
    core dump) when its platform plugin cannot start: no X server behind ``DISPLAY``,
    a missing system library... So a child process tries first and its messages
    become the reason, or, when the xcb plugin lacks system libraries, the Debian
    packages to install (:func:`qt_library_problem`). Offscreen and minimal platforms
    always work.

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
    where = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or "?"
    if not os.environ.get("WAYLAND_DISPLAY") or platform.startswith("xcb"):
        libraries = qt_library_problem()
        if libraries is not None:
            return f"Qt cannot open a window on display {where!r}: {libraries}"
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    useful = [ln.removeprefix("qt.qpa.plugin: ").removeprefix("qt.qpa.xcb: ") for ln in lines
              if ln.startswith("qt.qpa") or "could not" in ln.lower() or "cannot" in ln.lower()]
    # Qt goes on to name libxcb-cursor0 even when only the X server was missing
    connect = [ln for ln in useful if "could not connect to display" in ln]
    reason = connect[0] if connect else " ".join(useful[:3])
    reason = (reason or (lines[-1] if lines else f"exit status {proc.returncode}")).rstrip(".")
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

    from .settings import persisted_note

    app = _application()
    window = make_window(source, bundle, calibration_s, settings_file)
    note = persisted_note(window.qsettings)
    if note:  # settings from an earlier run change what this one does: say so
        print(note, file=sys.stderr)
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
