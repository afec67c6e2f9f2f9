"""Studies on a Ray cluster: a real ``ray start --head`` on this machine, joined with ``--address``.

The head runs in its own temporary folder (``--temp-dir``, ``RAY_TMPDIR``) and process
group, with its own token file, so that it never meets another Ray on the machine; it
is stopped by its process group, never by ``ray stop`` (which stops every Ray here).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bci_valence.cli import main

pytest.importorskip("ray", reason="Ray is not installed (the offline extra: "
                                  "pip install -e '.[offline]')")
psutil = pytest.importorskip("psutil", reason="psutil (installed with Ray) finds the head's processes")

try:
    from ray._private.authentication import authentication_token_setup  # noqa: F401

    TOKEN_AUTH = True
except ImportError:
    TOKEN_AUTH = False
needs_token_auth = pytest.mark.skipif(not TOKEN_AUTH, reason="this Ray has no token authentication")

REPO = Path(__file__).resolve().parents[3]
RAY = Path(sys.executable).with_name("ray")
TINY = ["--n", "9", "--epochs", "1", "--n-random", "20", "--train", "0-1", "--val", "80-81",
        "--cpus-per-trial", "1", "--no-progress"]


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_alive(pgid: int) -> list[psutil.Process]:
    """The live (not zombie) processes of process group ``pgid``."""
    found = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (ProcessLookupError, psutil.Error):
            pass
    return found


def stop_group(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """Stop ``ray start --block`` (which stops the Ray processes it started), then
    kill whatever of its process group is left; nothing outside that group."""
    # ``proc`` is reaped only at the end, so that its id (the group's) cannot be reused meanwhile
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if group_alive(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@dataclass(frozen=True)
class Head:
    """A running head: its address, the environment of a driver configured for it, its folder."""

    address: str
    env: dict[str, str]
    root: Path
    pgid: int


def driver_env(root: Path, token: Path) -> dict[str, str]:
    """A user's shell: no Ray settings but the token's file, Ray's temp folder in ``root``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    env.update(RAY_TMPDIR=str(root), RAY_AUTH_TOKEN_PATH=str(token), RAY_USAGE_STATS_ENABLED="0",
               PYTHONPATH=str(REPO))
    return env


@pytest.fixture(scope="module")
def ray_head() -> Iterator[Head]:
    """``ray start --head --port PORT`` as users start it: with a Ray token at hand (as on any
    machine where Ray ran before), so with token authentication on."""
    if not RAY.is_file():
        pytest.skip(f"no `ray` command next to {sys.executable}")
    # short: Ray's socket paths under it must stay below 107 characters
    root = Path(tempfile.mkdtemp(prefix="bcivray-"))
    token = root / "token"
    token.write_text(secrets.token_hex(32))
    env = driver_env(root, token)
    port = free_port()
    log = (root / "head.log").open("wb")
    proc = subprocess.Popen(
        [str(RAY), "start", "--head", "--block", "--port", str(port), "--temp-dir", str(root / "ray"),
         "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)
    try:
        deadline = time.monotonic() + 60
        while not (root / "ray" / "ray_current_cluster").is_file():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start failed: {(root / 'head.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield Head(f"127.0.0.1:{port}", env, root, proc.pid)
    finally:
        stop_group(proc)
        log.close()
        left = [p for p in psutil.process_iter(["cmdline"])
                if str(root) in " ".join(p.info["cmdline"] or [])]
        for p in left:  # ours by their folder; none expected
            with contextlib.suppress(psutil.Error):
                p.kill()
        shutil.rmtree(root, ignore_errors=True)
        assert not left, f"processes of the test head outlived it: {left}"


def study(head: Head, out: Path, *args: str, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess:
    """``bci-valence study probe --address HEAD`` in a fresh process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bci_valence.cli", "study", "probe", "--address", head.address,
         "--out", str(out), *args],
        env=env or head.env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_probe_study_runs_on_a_default_head(ray_head: Head, faced_root: Path, tmp_path: Path) -> None:
    if TOKEN_AUTH:  # on, as for a user who ran Ray on this machine before
        assert "Token authentication is enabled" in (ray_head.root / "head.log").read_text()
    out = tmp_path / "probe"
    run = study(ray_head, out, "--faced-root", str(faced_root), *TINY)
    assert run.returncode == 0, run.stderr[-3000:]
    printed = json.loads(run.stdout)
    res = json.loads((out / "results.json").read_text())
    assert printed["n_trials"] == res["n_trials"] == 9 and len(list((out / "trials").glob("*.json"))) == 9
    for t in res["trials"]:
        assert 0 <= t["bacc"] <= 1 and -1 <= t["encoding"] <= 1
    # the trials ran on the head: the driver started no Ray instance of its own
    assert [p.name for p in (ray_head.root / "ray").glob("session_2*")] == \
        [(ray_head.root / "ray" / "session_latest").resolve().name]
    assert group_alive(ray_head.pgid), "the head stopped with the driver"


@needs_token_auth
@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_wrong_token_ends_in_one_line(ray_head: Head, tmp_path: Path) -> None:
    env = {**ray_head.env, "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    t0 = time.monotonic()
    run = study(ray_head, tmp_path / "x", "--faced-root", str(tmp_path), env=env, timeout=45)
    assert time.monotonic() - t0 < 15  # not Ray's 20 s of retries
    assert run.returncode == 2 and run.stdout == ""
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert run.stderr.startswith("error: this driver could not authenticate to the Ray head at ")
    assert "RAY_AUTH_TOKEN" in run.stderr and "ray get-auth-token" in run.stderr
    assert not (tmp_path / "x").exists()


@needs_token_auth
@pytest.mark.slow
@pytest.mark.timeout(60)
def test_token_auth_off_says_what_to_set(ray_head: Head, tmp_path: Path, capfd,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", ray_head.env["RAY_AUTH_TOKEN_PATH"])
    assert main(["study", "probe", "--address", ray_head.address, "--faced-root", str(tmp_path),
                 "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    out, err = capfd.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert "requires token authentication: set RAY_AUTH_MODE=token and the head's token" in err


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_auto_finds_the_head_ray_start_recorded(ray_head: Head,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from ray.util import get_node_ip_address

    from offline.studies.runner import check_address

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    for name in ("RAY_TMPDIR", "RAY_AUTH_TOKEN_PATH"):  # where this head's record and token are
        monkeypatch.setenv(name, ray_head.env[name])
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    port = ray_head.address.rpartition(":")[2]
    assert check_address("auto") == f"{get_node_ip_address()}:{port}"


@pytest.mark.slow
@pytest.mark.timeout(30)
@pytest.mark.parametrize("address, says", [
    ("127.0.0.1:{port}", "no Ray head answers at 127.0.0.1:{port}"),
    ("ray://127.0.0.1:{port}", "no Ray head answers at ray://127.0.0.1:{port}"),
    ("127.0.0.1", "expected HOST:PORT"),
])
def test_a_bad_address_ends_in_one_line(address: str, says: str, tmp_path: Path, capfd) -> None:
    port = free_port()
    t0 = time.monotonic()
    assert main(["study", "probe", "--address", address.format(port=port), "--faced-root",
                 str(tmp_path), "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert time.monotonic() - t0 < 10
    out, err = capfd.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert err.startswith("error: ") and says.format(port=port) in err
    assert not (tmp_path / "x").exists()
