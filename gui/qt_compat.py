"""Work-arounds for the installed Qt binding; import this before creating any widget.

PySide6 6.12.0 on CPython < 3.12 returns ``True`` from ``SignalInstance.emit`` without
taking a reference: every ``signal.emit(...)`` made from Python (pyqtgraph makes many
on each resize or range change) lowers the reference count of ``True`` by one, and the
interpreter aborts with ``Fatal Python error: bool_dealloc`` after a few thousand
emissions. :func:`install` detects that at run time and, only then, wraps ``emit`` so the
missing reference is added back. On a fixed binding, or on CPython >= 3.12 where
``True`` is immortal, it does nothing.

The same release also drops a reference to ``None`` on every call of a ``void`` Qt
method (``processEvents``, ``setText``, ``update`` ...): that cannot be patched from
Python, so :func:`check_binding` refuses such a binding with a message saying which
version to install instead (the project pins ``PySide6<6.12``).
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


class BrokenBindingError(RuntimeError):
    """The installed Qt binding corrupts reference counts on this Python."""


def void_call_drops_none_reference() -> bool:
    """Whether calling a ``void`` Qt method leaks a reference to ``None``."""
    from PySide6.QtCore import QObject

    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(16):
        obj.setObjectName("probe")
    return sys.getrefcount(None) < before - 8


def check_binding() -> None:
    """Raise :class:`BrokenBindingError` when the binding is unusable on this Python."""
    if sys.version_info >= (3, 12):
        return
    if void_call_drops_none_reference():
        import PySide6

        raise BrokenBindingError(
            f"PySide6 {PySide6.__version__} on Python {sys.version.split()[0]} drops a reference to None "
            "on every Qt call and crashes the interpreter within minutes ('none_dealloc'). "
            "Install a working release: pip install 'PySide6>=6.6,<6.12'"
        )


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


check_binding()
install()
