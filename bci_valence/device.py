"""The one place that turns a device setting (``"auto"``, ``"cpu"``, ``"cuda:1"``) into a torch device."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["DEVICE_CHOICES", "resolve_device"]

#: Device settings offered in the CLI and the GUI (any torch device string also works).
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Resolve a device setting.

    Parameters
    ----------
    device : str | torch.device | None
        ``"auto"`` or None → CUDA when present, else CPU; anything else as given.

    Returns
    -------
    torch.device
    """
    import torch

    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
