"""Where a measured figure comes from: the command, the date and the machine.

Every JSON that reports a measurement (a benchmark, an evaluation, a study)
carries a top-level ``"provenance"`` object built by :func:`provenance`, so a
figure in the generated documentation always names the command line that
produced it, when it ran (UTC) and on what hardware and software.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import importlib.util
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

__all__ = ["command_line", "cpu_model", "package_versions", "portable_paths", "provenance"]

#: Packages whose versions a provenance record lists (when importable).
PACKAGES: tuple[str, ...] = ("bci_valence", "numpy", "torch", "mne")


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """Return the CPU's model name.

    Parameters
    ----------
    cpuinfo : str | Path
        The Linux ``cpuinfo`` file to read the ``model name`` line from.

    Returns
    -------
    str
        The model name from ``cpuinfo`` where the file exists and names one;
        otherwise :func:`platform.processor` or, failing that,
        :func:`platform.machine`.
    """
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in ("model name", "hardware", "cpu model") and value.strip():
            return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def _gpu_name() -> str | None:
    """Name of the first CUDA device, or None (torch is imported only if installed)."""
    if "torch" not in sys.modules and importlib.util.find_spec("torch") is None:
        return None
    try:
        import torch

        if torch.cuda.is_available():
            return str(torch.cuda.get_device_name(0))
    except Exception:  # noqa: BLE001 - a broken CUDA set-up means "no GPU" here
        return None
    return None


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Return the versions of the given packages that can be imported.

    Parameters
    ----------
    packages : tuple of str
        Importable module names.

    Returns
    -------
    dict
        ``{name: version}`` for each package found; packages that are not
        installed are left out.
    """
    versions: dict[str, str] = {}
    for name in packages:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            continue
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an unimportable package is left out
            continue
        versions[name] = str(getattr(module, "__version__", "unknown"))
    return versions


def command_line(argv: list[str] | None = None, cwd: str | Path | None = None) -> str:
    """Return this process's command line as a user would type it.

    Parameters
    ----------
    argv : list of str | None
        The interpreter's full argument list (default :data:`sys.orig_argv`:
        the interpreter, its options, then the script's arguments).
    cwd : str | Path | None
        The folder that absolute paths are made relative to (default: the
        current working directory).

    Returns
    -------
    str
        Shell-quoted and joined by spaces. A console script (``bci-valence``)
        is named by its file name alone; otherwise the interpreter is written
        ``python``. Absolute paths inside ``cwd`` are written relative to it,
        so the record names no folder of the machine that ran it.
    """
    args = list(sys.orig_argv if argv is None else argv) or ["python"]
    root = Path.cwd() if cwd is None else Path(cwd)
    rest = args[1:]

    def _relative(arg: str) -> str:
        path = Path(arg)
        if path.is_absolute():
            try:
                return str(path.relative_to(root))
            except ValueError:
                return arg
        return arg

    if rest and not rest[0].startswith("-") and Path(rest[0]).is_absolute():
        script = Path(rest[0])
        if script.parent == Path(args[0]).parent and script.suffix == "":
            return shlex.join([script.name, *(_relative(a) for a in rest[1:])])
    return shlex.join(["python", *(_relative(a) for a in rest)])


def portable_paths(obj: Any, root: str | Path | None = None) -> Any:
    """A JSON-able record with the absolute paths of this machine written relative to ``root``.

    Parameters
    ----------
    obj : dict | list | str | Any
        The record; strings anywhere inside it are rewritten, other values kept.
    root : str | Path | None
        The folder paths are made relative to (default: the working folder); paths in
        its parent become ``../…``, so ``../shared/data`` stays recognisable.

    Returns
    -------
    Any
        A copy of ``obj``; a measurement committed to the docs names no folder of the
        machine that ran it.
    """
    import re

    base = Path.cwd() if root is None else Path(root)
    end = r"(?![\w.\-])"  # the folder's name ends there
    rules = [
        (re.compile(re.escape(str(base) + "/")), ""),
        (re.compile(re.escape(str(base)) + end), "."),
        (re.compile(re.escape(str(base.parent) + "/")), "../"),
        (re.compile(re.escape(str(base.parent)) + end), ".."),
    ]

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        if isinstance(value, str):
            for pattern, relative in rules:
                value = pattern.sub(relative, value)
        return value

    return rewrite(obj)


def provenance(command: str | None = None) -> dict[str, Any]:
    """Describe the command, date and machine of a measurement.

    Parameters
    ----------
    command : str | None
        The command line to record. None records this process's own command
        line (see :func:`command_line`).

    Returns
    -------
    dict
        ``{"command", "date", "machine", "versions"}``: the command line; the
        UTC date and time in ISO 8601 (seconds); the machine as ``{"cpu",
        "cores", "gpu", "platform", "python"}`` (``gpu`` is None without a
        CUDA device); and the versions of bci_valence, numpy, torch and mne
        where installed. Plain JSON types only.
    """
    if command is None:
        command = command_line()
    elif not isinstance(command, str):
        raise TypeError(f"command must be a str or None, got {type(command).__name__}")
    date = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    return {
        "command": command,
        "date": date,
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "gpu": _gpu_name(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": package_versions(),
    }
