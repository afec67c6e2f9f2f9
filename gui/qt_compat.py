"""Work-arounds for the installed Qt binding; import this before creating any widget.

PySide6 6.12.0 on CPython < 3.12 returns ``True`` from ``SignalInstance.emit`` without
taking a reference: every ``signal.emit(...)`` made from Python (pyqtgraph makes many
on each resize or range change) lowers the reference count of ``True`` by one, and the
interpreter aborts with ``Fatal Python error: bool_dealloc`` after a few thousand
emissions. :func:`install` detects that at run time and, only then, wraps ``emit`` so the
missing reference is added back. On a fixed binding, or on CPython >= 3.12 where
``True`` is immortal, it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

_INSTALLED = False


def emit_drops_true_reference() -> bool:
    """Whether ``SignalInstance.emit`` of this binding leaks a reference to ``True``."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        probe = Signal()

    obj = _Probe()
    before = sys.getrefcount(True)
    for _ in range(16):
        obj.probe.emit()
    after = sys.getrefcount(True)
    return after < before


def install() -> bool:
    """Patch ``SignalInstance.emit`` if (and only if) it drops references to ``True``.

    Returns
    -------
    bool
        True when the patch is active.
    """
    global _INSTALLED
    if _INSTALLED:
        return True
    if sys.version_info >= (3, 12) or not emit_drops_true_reference():
        return False
    from PySide6.QtCore import SignalInstance

    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    incref.restype = None

    def emit(self, *args):  # noqa: ANN001, ANN002 - same signature as the binding's
        result = original(self, *args)
        if result is True:
            incref(result)
        return result

    emit.__doc__ = original.__doc__
    SignalInstance.emit = emit
    _INSTALLED = emit_drops_true_reference() is False
    return _INSTALLED


install()
