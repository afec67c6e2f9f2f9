"""The status bar's permanent labels: session state, the first stream's measured rate and
jitter, losses, gaps, real channels, the step latency and the compute device."""

from __future__ import annotations

from typing import Any

from .. import qt_compat  # noqa: F401, I001  (before any widget)
from PySide6 import QtWidgets  # noqa: E402

__all__ = ["STATUS_FIELDS", "add_status_labels", "device_text", "show_stream_status"]

#: Each label's key and its text before a session.
STATUS_FIELDS: tuple[tuple[str, str], ...] = (
    ("state", "idle"), ("rate", "— Hz"), ("jitter", "jitter —"), ("latency", "latency —"), ("lost", "lost 0"),
    ("gaps", "gaps 0"), ("channels", "channels —"), ("device", "device —"),
)  # fmt: skip


def device_text(device: Any) -> str:
    """The device label's text for a resolved device (``cpu``, ``cuda``, ``cuda:1``...).

    The device comes resolved from :func:`bci_valence.device.resolve_device`, never
    decided here.
    """
    return f"device {str(device).upper()}"


def add_status_labels(bar: QtWidgets.QStatusBar, device: Any) -> dict[str, QtWidgets.QLabel]:
    """Add the labels of :data:`STATUS_FIELDS` to ``bar``.

    Parameters
    ----------
    bar : QStatusBar
    device : str or torch.device
        The resolved device the next session will use.

    Returns
    -------
    dict of str to QLabel
        By key.
    """
    labels: dict[str, QtWidgets.QLabel] = {}
    for key, text in STATUS_FIELDS:
        label = QtWidgets.QLabel(device_text(device) if key == "device" else text)
        label.setMinimumWidth(70)
        bar.addPermanentWidget(label)
        labels[key] = label
    return labels


def show_stream_status(labels: dict[str, QtWidgets.QLabel], status: Any, n_channels: int) -> None:
    """Show one stream's :class:`~bci_valence.online.pipeline.StreamStatus`.

    Parameters
    ----------
    labels : dict of str to QLabel
        From :func:`add_status_labels`.
    status : StreamStatus
    n_channels : int
        The channels every stream is mapped onto.
    """
    timing = status.timing
    if timing is not None:  # what the stream really delivers, on this machine's clock
        labels["rate"].setText(f"{timing.effective_rate:.2f} Hz ({status.sfreq:g} declared)")
        labels["jitter"].setText(f"jitter {timing.jitter_ms:.0f} ms")
        labels["rate"].setToolTip(timing.describe())
    else:
        labels["rate"].setText(f"{status.sfreq:g} Hz" if status.sfreq else "— Hz")
    labels["lost"].setText(f"lost {status.lost_samples}")
    labels["gaps"].setText(f"gaps {status.gaps}")
    labels["channels"].setText(f"channels {status.n_real}/{n_channels} real")
    labels["device"].setText(device_text(status.device))
