"""Run a study's trials with Ray, one result file per trial, resumable.

A study is a list of independent trials, each a JSON-able dict with a unique
``"id"``. :func:`run_trials` runs the ones without a result yet as Ray tasks and
writes each result to ``OUT/trials/<id>.json`` the moment it arrives, so that an
interrupted study (Ctrl-C, a lost machine) resumes where it stopped when run again
with the same ``--out``. ``OUT/study.json`` records the study's name and settings; a
folder written with other settings is refused instead of mixed.

Ray: by default a study starts its own private local instance with this machine's
cores (``num_cpus`` caps them), whatever else runs here: neither ``RAY_ADDRESS`` nor
the cluster a ``ray start`` recorded on this machine is joined. ``address`` joins an
existing cluster (``HOST:PORT`` of a ``ray start --head`` head, ``"auto"`` for the
one running on this machine, or ``"ray://HOST:10001"``), whose workers must have
this package installed; :func:`check_address` checks it first, so that a head that
is absent or refuses this driver is reported in one line instead of Ray's long
retries. A head on this machine is joined with this machine's Ray token, as
``ray.init(address="auto")`` does; a remote head with token authentication needs
``RAY_AUTH_MODE=token`` and its token (``RAY_AUTH_TOKEN`` or ``RAY_AUTH_TOKEN_PATH``).
Each trial asks for ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RayConnectionError", "RayOptions", "StudyFolder", "check_address", "run_trials",
           "write_json"]

log = logging.getLogger(__name__)

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]*$")

#: Seconds a head gets to answer :func:`check_address` (Ray itself retries for minutes).
CONNECT_TIMEOUT_S = 15.0

_AUTH_HELP = ("the head's token (printed by `ray get-auth-token` on the head) in RAY_AUTH_TOKEN, "
              "or in a file named by RAY_AUTH_TOKEN_PATH")

#: One GCS handshake, run in a child process so that a silent head can be timed out.
_PROBE = """\
import sys
try:
    from ray._raylet import GcsClient
except ImportError:
    sys.exit(0)
try:
    from ray._private.authentication.authentication_token_setup import (
        ensure_token_if_auth_enabled)
    ensure_token_if_auth_enabled(None, create_token_if_missing=False)
except ImportError:
    pass
except Exception as err:
    print(type(err).__name__, (str(err).splitlines() or [""])[0], sep="\\t")
    sys.exit(3)
try:
    GcsClient(address=sys.argv[1])
except Exception as err:
    print(type(err).__name__, (str(err).splitlines() or [""])[0], sep="\\t")
    sys.exit(3)
"""


@dataclass(frozen=True)
class RayOptions:
    """Where and how trials run.

    Attributes
    ----------
    address : str or None
        An existing Ray cluster: ``HOST:PORT`` of its head, ``"auto"`` or
        ``"ray://HOST:PORT"`` (None: start a private local instance).
    num_cpus : int or None
        CPUs of the local instance (None: all of this machine's).
    cpus_per_trial : float
        CPUs each trial reserves (1: one torch thread per trial).
    gpus_per_trial : float
        GPUs each trial reserves (0 on a CPU machine).
    """

    address: str | None = None
    num_cpus: int | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0

    def __post_init__(self) -> None:
        if self.num_cpus is not None and self.num_cpus < 1:
            raise ValueError(f"num_cpus must be >= 1, got {self.num_cpus}")
        if self.cpus_per_trial <= 0 or self.gpus_per_trial < 0:
            raise ValueError(
                f"cpus_per_trial {self.cpus_per_trial}, gpus_per_trial {self.gpus_per_trial}: "
                "expected cpus > 0 and gpus >= 0"
            )


class RayConnectionError(ConnectionError):
    """This driver cannot join the Ray cluster at ``address``; the message says what to set."""


def _host_port(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``HOST:PORT`` or ``ray://HOST:PORT``."""
    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise RayConnectionError(
            f"--address {address!r}: expected HOST:PORT (the port given to `ray start --head "
            "--port`, 6379 by default), 'auto' (the head running on this machine) or ray://HOST:PORT"
        )
    return host.strip("[]"), int(port)


def _resolve(address: str) -> str:
    """``address`` with ``"auto"`` resolved as :func:`ray.init` does (``RAY_ADDRESS``,
    else the head running on this machine), so that the head checked is the one joined."""
    if address != "auto":
        return address
    env = os.environ.get("RAY_ADDRESS")
    if env and env not in ("auto", "local"):
        return env
    from ray._private.services import canonicalize_bootstrap_address

    try:
        found = canonicalize_bootstrap_address("auto")
    except ConnectionError:
        found = None
    if not found:
        raise RayConnectionError(
            "--address auto: no Ray head runs on this machine; start one with `ray start --head "
            "--port PORT` and pass --address HOST:PORT, or leave --address out to run on a "
            "private local instance"
        )
    return found


def _is_this_machine(host: str) -> bool:
    """Whether ``host`` is this machine (a loopback address or Ray's node IP)."""
    import ipaddress

    from ray.util import get_node_ip_address

    try:
        ip = socket.gethostbyname(host)
    except OSError:
        return False
    return ipaddress.ip_address(ip).is_loopback or ip == get_node_ip_address()


def _token_auth_for_local_head(host: str) -> None:
    """Present this machine's Ray token to a head on this machine, as Ray's own clients do.

    With ``RAY_AUTH_MODE`` unset, ``ray start --head`` and ``ray.init(address="auto")``
    turn token authentication on when a token is at hand (``RAY_AUTH_TOKEN``,
    ``RAY_AUTH_TOKEN_PATH``, ``~/.ray/auth_token``), but ``ray.init`` with an explicit
    address does not, so it is refused by the head a plain ``ray start --head`` gave.
    This driver does the same as ``"auto"`` for a head on this machine; a remote head
    is never sent a token unasked (``RAY_AUTH_MODE=token`` says to).
    """
    if os.environ.get("RAY_AUTH_MODE") is not None or not _is_this_machine(host):
        return
    try:
        from ray._private.authentication import authentication_token_setup as auth
    except ImportError:  # a Ray without token authentication
        return
    # its warning ("enabled for this Ray cluster") speaks of starting a head
    quiet = logging.getLogger(auth.__name__)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        if auth.maybe_enable_token_auth_if_token_available(warn_if_disabled=False):
            log.debug("joining the head on this machine with its token (RAY_AUTH_MODE=token)")
    finally:
        quiet.setLevel(level)


def _auth_error(address: str) -> RayConnectionError:
    """What to set when the head at ``address`` refuses this driver."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
        return RayConnectionError(f"the Ray head at {address} requires token authentication: set "
                                  f"RAY_AUTH_MODE=token and {_AUTH_HELP}")
    if os.environ.get("RAY_AUTH_TOKEN"):
        mine = "the token in RAY_AUTH_TOKEN"
    else:
        path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
        mine = (f"the token in {path}" if path.is_file() and path.stat().st_size
                else f"no token: {path} is missing or empty")
    return RayConnectionError(f"this driver could not authenticate to the Ray head at {address} "
                              f"({mine}): give {_AUTH_HELP}")


def check_address(address: str, timeout: float = CONNECT_TIMEOUT_S) -> str:
    """Check that a Ray head answers at ``address`` and accepts this driver.

    Ray's own connection retries for 20 s after a refused token and for many minutes
    when no head answers, printing only its internal log lines; this check reports
    either in one line, within ``timeout`` seconds. It also turns token
    authentication on for a head on this machine (see
    :func:`_token_auth_for_local_head`).

    Parameters
    ----------
    address : str
        ``HOST:PORT`` of a head's GCS, ``"auto"`` or ``"ray://HOST:PORT"``.
    timeout : float
        Seconds for the head to answer.

    Returns
    -------
    str
        The address to join (``"auto"`` resolved to ``HOST:PORT``).

    Raises
    ------
    RayConnectionError
        If no head answers, or it refuses this driver; the message says what to set.
    """
    address = _resolve(address.strip())
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=min(timeout, 5.0)):
            pass
    except OSError as err:
        start = (f"--ray-client-server-port {port}`" if "://" in address
                 else f"--port {port}` and pass the address it prints")
        raise RayConnectionError(
            f"no Ray head answers at {address} ({err.strerror or err}): start one with `ray start "
            f"--head {start}, or leave --address out to run on a private local instance"
        ) from None
    if "://" in address:  # a Ray Client server: Ray Client reports its own errors
        return address
    _token_auth_for_local_head(host)
    try:
        probe = subprocess.run([sys.executable, "-c", _PROBE, address], capture_output=True,
                               text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RayConnectionError(
            f"the Ray head at {address} did not answer within {timeout:g} s: is {port} the "
            "port given to `ray start --head --port` (6379 by default)?"
        ) from None
    if probe.returncode == 3:
        kind, _, reason = probe.stdout.strip().partition("\t")
        if kind == "AuthenticationError":
            raise _auth_error(address)
        raise RayConnectionError(f"cannot join the Ray head at {address}: {kind}: {reason}"[:400])
    if probe.returncode != 0:  # Ray's core aborted (a failed internal check)
        lines = [ln.strip() for ln in probe.stderr.splitlines() if ln.strip()]
        why = next((ln.split("Check failed:", 1)[1].strip() for ln in lines if "Check failed:" in ln),
                   lines[-1] if lines else f"exit status {probe.returncode}")
        raise RayConnectionError(f"cannot join the Ray head at {address}: {why}"[:400])
    return address


def _init_ray(options: RayOptions) -> None:
    """Start a private local Ray instance, or join ``options.address``."""
    import ray

    common = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": True}
    if options.address is None:
        # "local", not None: None would join RAY_ADDRESS or the cluster `ray start` recorded
        ray.init(address="local", num_cpus=options.num_cpus, **common)
        return
    address = check_address(options.address)
    try:
        ray.init(address=address, **common)
    except getattr(ray.exceptions, "AuthenticationError", ()) as err:
        raise _auth_error(address) from err
    except (ConnectionError, RuntimeError, ray.exceptions.RayError) as err:
        reason = (str(err).splitlines() or [type(err).__name__])[0]
        raise RayConnectionError(f"cannot join the Ray cluster at {address}: {reason}"[:400]) from None


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a temporary file renamed over ``path``)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, allow_nan=True) + "\n", encoding="utf-8")
    tmp.replace(path)


class StudyFolder:
    """A study's results folder: ``study.json``, ``trials/<id>.json``, results, figures.

    Parameters
    ----------
    out : str or Path
        The folder (created if absent).
    study : str
        The study's name.
    settings : dict
        Everything that decides the trials' results (not where they run).

    Raises
    ------
    FileExistsError
        If ``out`` is a non-empty folder of another study or with other settings, or
        a file.
    """

    def __init__(self, out: str | Path, study: str, settings: dict[str, Any]) -> None:
        self.path = Path(out)
        if self.path.exists() and not self.path.is_dir():
            raise FileExistsError(f"--out {self.path} is a file, expected a (new or study) folder")
        manifest = self.path / "study.json"
        wanted = {"study": study, "settings": json.loads(json.dumps(settings))}
        if manifest.is_file():
            found = json.loads(manifest.read_text(encoding="utf-8"))
            if found != wanted:
                diff = sorted(k for k in set(found.get("settings", {})) | set(wanted["settings"])
                              if found.get("settings", {}).get(k) != wanted["settings"].get(k))
                raise FileExistsError(
                    f"{self.path} holds study {found.get('study')!r} with other settings "
                    f"(differing: {diff or ['study']}); choose a new --out to run these settings, "
                    "or the same settings to resume"
                )
        elif self.path.is_dir() and any(self.path.iterdir()):
            raise FileExistsError(
                f"{self.path} is a non-empty folder without study.json: refusing to write into "
                "it; choose a new --out"
            )
        (self.path / "trials").mkdir(parents=True, exist_ok=True)
        if not manifest.is_file():
            write_json(manifest, wanted)
        self.study = study
        self.settings = wanted["settings"]

    def trial_path(self, trial_id: str) -> Path:
        """Result file of one trial."""
        return self.path / "trials" / f"{trial_id}.json"

    def done(self, trial: dict[str, Any]) -> dict[str, Any] | None:
        """The stored result of ``trial`` (None if it has not finished)."""
        path = self.trial_path(trial["id"])
        if not path.is_file():
            return None
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            log.warning("unreadable trial result %s: running the trial again", path)
            return None
        if result.get("trial") != json.loads(json.dumps(trial)):
            raise FileExistsError(
                f"{path} holds another trial's result than the one now requested under id "
                f"{trial['id']!r}; choose a new --out"
            )
        return result


def _check_trials(trials: Sequence[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for t in trials:
        tid = t.get("id")
        if not isinstance(tid, str) or not _ID_RE.match(tid):
            raise ValueError(f"trial id {tid!r}: expected letters, digits, '.', '_', '=', '-'")
        if tid in seen:
            raise ValueError(f"trial id {tid!r} appears twice")
        seen.add(tid)


def _execute(fn: Callable[[dict[str, Any], Any], dict[str, Any]], trial: dict[str, Any],
             context: Any) -> dict[str, Any]:
    """Run one trial in a worker (one torch thread), timing it."""
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    figures = fn(trial, context)
    return {"trial": trial, "result": figures, "seconds": round(time.perf_counter() - t0, 2)}


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_trials(
    folder: StudyFolder,
    trials: Sequence[dict[str, Any]],
    fn: Callable[[dict[str, Any], Any], dict[str, Any]],
    context: Any,
    options: RayOptions = RayOptions(),
    progress: bool = True,
    max_new: int | None = None,
) -> list[dict[str, Any]]:
    """Run the trials that have no result yet with Ray; return every trial's result.

    Parameters
    ----------
    folder : StudyFolder
    trials : sequence of dict
        JSON-able, each with a unique ``"id"``.
    fn : callable
        ``fn(trial, context) -> dict`` of the trial's figures (a module-level
        function, so Ray can ship it).
    context : object
        Shared input of every trial (put once in Ray's object store).
    options : RayOptions
    progress : bool
        tqdm progress bar over trials.
    max_new : int or None
        Stop after this many newly finished trials (the rest stay to resume).

    Returns
    -------
    list of dict
        ``{"trial", "result", "seconds"}`` in ``trials`` order, for the finished ones.

    Raises
    ------
    RayConnectionError
        If ``options.address`` cannot be joined (see :func:`check_address`).
    """
    from tqdm.auto import tqdm

    _check_trials(trials)
    results: dict[str, dict[str, Any]] = {}
    todo = []
    for t in trials:
        stored = folder.done(t)
        if stored is not None:
            results[t["id"]] = stored
        else:
            todo.append(t)
    if max_new is not None:
        todo = todo[:max_new]
    bar = tqdm(total=len(trials), initial=len(results), desc=folder.study, unit="trial",
               disable=not progress)
    if todo:
        try:
            _run_on_ray(folder, todo, fn, context, options, results, bar)
        finally:
            bar.close()
    bar.close()
    return [results[t["id"]] for t in trials if t["id"] in results]


def _run_on_ray(folder: StudyFolder, todo: Sequence[dict[str, Any]],
                fn: Callable[[dict[str, Any], Any], dict[str, Any]], context: Any, options: RayOptions,
                results: dict[str, dict[str, Any]], bar: Any) -> None:
    """Run ``todo`` on Ray (a local instance unless one is running or ``options.address``
    names one), writing each trial's result as it finishes and adding it to ``results``."""
    import ray

    started = False
    # SIGTERM (a scheduler's stop, ``kill``) stops the study like Ctrl-C: finished
    # trials are kept and a local Ray instance is shut down
    previous = (signal.signal(signal.SIGTERM, _interrupt)
                if threading.current_thread() is threading.main_thread() else None)
    try:
        if not ray.is_initialized():
            _init_ray(options)
            started = True
        remote = ray.remote(_execute).options(num_cpus=options.cpus_per_trial,
                                              num_gpus=options.gpus_per_trial, max_retries=0)
        ctx_ref = ray.put(context)
        fn_ref = ray.put(fn)
        pending = {remote.remote(fn_ref, t, ctx_ref): t for t in todo}
        while pending:
            # a short timeout keeps Ctrl-C prompt while long trials run
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            for ref in ready:
                trial = pending.pop(ref)
                out = ray.get(ref)
                write_json(folder.trial_path(trial["id"]), out)
                results[trial["id"]] = out
                bar.update(1)
    finally:
        if started:
            ray.shutdown()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
