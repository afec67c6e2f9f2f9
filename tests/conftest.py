"""Shared fixtures: the real recordings in ``../shared/data`` (skipped when absent)."""

from __future__ import annotations

import inspect
import os
import re
import signal
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# A test run started in the background by a non-interactive shell (`pytest … &` in a
# script) inherits Ctrl-C ignored, and so would every command the tests start: the Ctrl-C
# tests need it to do what it does at a terminal. A handler set here also resets to the
# default in the commands they start.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BCI_VALENCE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


#: What in a test's own code (or its fixtures') names each real part it needs.
_NEEDS = {
    "lsl": re.compile(r"\blsl\b|lsl:|sim:|mne_lsl|pylsl|LSLSource|SimulatedHeadset|Player\(|"
                      r"XdfRecorder|RawMirror|ValenceOutlet|StreamOutlet|run_session|SessionOutputs|lsl_push"),
    "brainflow": re.compile(r"brainflow", re.IGNORECASE),
    "qt": re.compile(r"\bqtbot\b|QtWidgets|MainWindow|run_gui"),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with the real parts it uses (``-m "not lsl"`` runs the rest).

    A test is marked when its own code, or a fixture it requests from its module,
    names the part (``lsl``, ``brainflow``, ``qt``); everything under ``tests/gui`` is ``qt``.
    """
    for item in items:
        function = getattr(item, "function", None)
        if function is None:
            continue
        try:
            text = inspect.getsource(function)
        except (OSError, TypeError):
            continue
        module = getattr(item, "module", None)
        for name in getattr(item, "fixturenames", ()):
            fixture = getattr(module, name, None)
            if callable(fixture):
                try:
                    text += inspect.getsource(fixture)
                except (OSError, TypeError):
                    pass
        for marker, pattern in _NEEDS.items():
            if pattern.search(text):
                item.add_marker(marker)
        if "tests/gui/" in item.nodeid or "qtbot" in getattr(item, "fixturenames", ()):
            item.add_marker("qt")


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (needs ../shared/data)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ``../shared/data`` folder."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def faced_root(shared_data: Path) -> Path:
    """FACED root in the release's layout (sub000-sub099)."""
    return _require(shared_data / "faced")


@pytest.fixture(scope="session")
def eeglab_set(shared_data: Path) -> Path:
    """EEGLAB's 32-channel sample recording (.set with .fdt)."""
    return _require(shared_data / "eeglab" / "eeglab_data.set")


@pytest.fixture(scope="session")
def xdf_file(shared_data: Path) -> Path:
    """A real 8-channel 1000 Hz OpenBCI XDF recording without channel labels."""
    return _require(shared_data / "xdf" / "openbci_8ch_1000hz.xdf")
