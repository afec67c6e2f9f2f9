"""The study runner: Ray local execution, per-trial results, resume after interruption."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from offline.studies.runner import RayOptions, StudyFolder, run_trials

ray = pytest.importorskip("ray", reason="Ray is not installed (the offline extra: "
                                       "pip install -e '.[offline]')")
psutil = pytest.importorskip("psutil", reason="psutil (installed with Ray) finds Ray's processes")

TRIALS = [{"id": f"t{i}", "x": i} for i in range(4)]


def square_trial(trial: dict, context: int) -> dict:
    """A tiny trial: x² + context, and where and when it ran."""
    return {"value": trial["x"] ** 2 + context, "pid": os.getpid(), "time": time.time()}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield
    ray.shutdown()


def test_tiny_study_runs_on_local_ray(tmp_path: Path, local_ray) -> None:
    folder = StudyFolder(tmp_path / "s", "tiny", {"context": 10})
    out = run_trials(folder, TRIALS, square_trial, 10, RayOptions(), progress=False)
    assert [o["trial"]["id"] for o in out] == ["t0", "t1", "t2", "t3"]
    assert [o["result"]["value"] for o in out] == [10, 11, 14, 19]
    # ran in Ray's worker processes, not here
    assert all(o["result"]["pid"] != os.getpid() for o in out)
    for t in TRIALS:
        stored = json.loads(folder.trial_path(t["id"]).read_text())
        assert stored["trial"] == t and stored["result"]["value"] == t["x"] ** 2 + 10


def test_resume_runs_only_the_missing_trials(tmp_path: Path, local_ray) -> None:
    folder = StudyFolder(tmp_path / "s", "tiny", {"context": 0})
    first = run_trials(folder, TRIALS, square_trial, 0, progress=False, max_new=2)
    assert len(first) == 2
    assert len(list((tmp_path / "s" / "trials").glob("*.json"))) == 2
    before = {o["trial"]["id"]: o["result"]["time"] for o in first}
    # a result file cut short (the machine died while writing) is run again
    missing = [t["id"] for t in TRIALS if t["id"] not in before]
    folder.trial_path(missing[0]).write_text('{"trial": {"id"')
    again = run_trials(StudyFolder(tmp_path / "s", "tiny", {"context": 0}), TRIALS, square_trial, 0,
                       progress=False)
    assert [o["result"]["value"] for o in again] == [0, 1, 4, 9]
    for o in again:
        if o["trial"]["id"] in before:  # not run again
            assert o["result"]["time"] == before[o["trial"]["id"]]


def test_a_folder_with_other_settings_is_refused(tmp_path: Path) -> None:
    StudyFolder(tmp_path / "s", "tiny", {"epochs": 3, "n": 6})
    with pytest.raises(FileExistsError, match=r"differing: \['epochs'\]"):
        StudyFolder(tmp_path / "s", "tiny", {"epochs": 4, "n": 6})
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="non-empty folder without study.json"):
        StudyFolder(tmp_path / "other", "tiny", {})
    with pytest.raises(ValueError, match="appears twice"):
        run_trials(StudyFolder(tmp_path / "s", "tiny", {"epochs": 3, "n": 6}),
                   [{"id": "a"}, {"id": "a"}], square_trial, 0, progress=False)


SCRIPT = textwrap.dedent("""
    import sys, time
    from offline.studies.runner import RayOptions, StudyFolder, run_trials

    def slow(trial, context):
        time.sleep(trial["sleep"])
        return {"value": trial["x"] ** 2, "time": time.time()}

    trials = [{"id": f"t{i}", "x": i, "sleep": 1.0} for i in range(8)]
    run_trials(StudyFolder(sys.argv[1], "slow", {}), trials, slow, None,
               RayOptions(num_cpus=1), progress=False)
""")


def test_an_interrupted_study_resumes_where_it_stopped(tmp_path: Path, local_ray) -> None:
    script = tmp_path / "study.py"
    script.write_text(SCRIPT)
    out = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, str(script), str(out)], cwd=Path(__file__).parents[3],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(out.glob("trials/*.json"))) < 2:
            time.sleep(0.2)
        # a stop (SIGTERM; SIGINT would be ignored where the tests run in the background)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    done = {p.stem: json.loads(p.read_text()) for p in out.glob("trials/*.json")}
    assert proc.returncode != 0
    assert 2 <= len(done) < 8, f"interrupted after {len(done)} of 8 trials"
    trials = [{"id": f"t{i}", "x": i, "sleep": 1.0} for i in range(8)]
    results = run_trials(StudyFolder(out, "slow", {}), trials, square_trial, 0, progress=False)
    assert [r["result"]["value"] for r in results] == [i * i for i in range(8)]
    for r in results:
        tid = r["trial"]["id"]
        if tid in done:  # kept from the interrupted run, not run again
            assert r == done[tid]
        else:
            assert "pid" in r["result"]  # run by the resumed study


LOCAL = textwrap.dedent("""
    import json, sys
    import ray
    from offline.studies.runner import RayOptions, StudyFolder, run_trials

    def where(trial, context):
        return {"gcs": ray.get_runtime_context().gcs_address}

    out = run_trials(StudyFolder(sys.argv[1], "where", {}), [{"id": "a"}, {"id": "b"}], where, None,
                     RayOptions(num_cpus=1), progress=False)
    print(json.dumps([o["result"]["gcs"] for o in out]))
""")


def _dead_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_without_address_a_private_instance_starts_despite_a_stale_head(tmp_path: Path) -> None:
    """A head killed without ``ray stop`` leaves its address in ``ray_current_cluster``
    (and perhaps ``RAY_ADDRESS``): ``ray.init()`` would wait for it for minutes."""
    root = Path(tempfile.mkdtemp(prefix="bcivloc-"))  # short: Ray's socket paths live under it
    try:
        stale, env_stale = _dead_address(), _dead_address()
        (root / "ray").mkdir()
        (root / "ray" / "ray_current_cluster").write_text(stale)  # what `ray start` writes
        env = {**os.environ, "RAY_TMPDIR": str(root), "RAY_ADDRESS": env_stale,
               "RAY_USAGE_STATS_ENABLED": "0"}
        script = tmp_path / "local.py"
        script.write_text(LOCAL)
        run = subprocess.run([sys.executable, str(script), str(tmp_path / "s")], env=env,
                             cwd=Path(__file__).parents[3], capture_output=True, text=True, timeout=90)
        assert run.returncode == 0, run.stderr[-3000:]
        gcs = set(json.loads(run.stdout.splitlines()[-1]))
        assert len(gcs) == 1 and not gcs & {stale, env_stale}
        # the instance was this study's own, in its Ray folder, and is gone with it
        assert len(list((root / "ray").glob("session_2*"))) == 1
        assert (root / "ray" / "ray_current_cluster").read_text() == stale
        deadline = time.monotonic() + 15
        while (left := _processes_under(root)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, f"the study's Ray instance outlived it: {left}"
    finally:
        for proc in _processes_under(root):  # ours by their folder; none expected
            with contextlib.suppress(psutil.Error):
                proc.kill()
        shutil.rmtree(root, ignore_errors=True)


def _processes_under(root: Path) -> list:
    """Processes whose command line names ``root`` (a Ray instance's folder)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if str(root) in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            pass
    return found
