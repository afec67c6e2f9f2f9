"""Run a study's trials with Ray, one result file per trial, resumable.

A study is a list of independent trials, each a JSON-able dict with a unique
``"id"``. :func:`run_trials` runs the ones without a result yet as Ray tasks and
writes each result to ``OUT/trials/<id>.json`` the moment it arrives, so that an
interrupted study (Ctrl-C, a lost machine) resumes where it stopped when run again
with the same ``--out``. ``OUT/study.json`` records the study's name and settings; a
folder written with other settings is refused instead of mixed.

Ray: by default :func:`ray.init` starts a local instance with this machine's cores
(``num_cpus`` caps them); ``address`` joins an existing cluster (``"auto"`` or
``"ray://host:10001"``), whose workers must have this package installed. Each trial
asks for ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RayOptions", "StudyFolder", "run_trials", "write_json"]

log = logging.getLogger(__name__)

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]*$")


@dataclass(frozen=True)
class RayOptions:
    """Where and how trials run.

    Attributes
    ----------
    address : str or None
        An existing Ray cluster (None: start a local instance).
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
        import ray

        started = False
        # SIGTERM (a scheduler's stop, ``kill``) stops the study like Ctrl-C: finished
        # trials are kept and a local Ray instance is shut down
        previous = (signal.signal(signal.SIGTERM, _interrupt)
                    if threading.current_thread() is threading.main_thread() else None)
        if not ray.is_initialized():
            ray.init(address=options.address,
                     num_cpus=options.num_cpus if options.address is None else None,
                     include_dashboard=False, logging_level=logging.WARNING,
                     log_to_driver=True)
            started = True
        try:
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
    bar.close()
    return [results[t["id"]] for t in trials if t["id"] in results]
