"""A CSV log whose disk fills: whole rows or none, one line saying so, the run ends."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bci_valence.streams.outlets import read_csv_log

pytestmark = pytest.mark.timeout(120)

#: A run whose files may not grow past a limit (RLIMIT_FSIZE: the kernel refuses the
#: write as it would on a full disk).
LIMITED_RUN = textwrap.dedent(
    """
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
    from bci_valence.cli import main
    sys.exit(main(sys.argv[2:]))
    """
)


def test_a_log_that_cannot_grow_keeps_its_complete_rows_and_ends_the_run(tmp_path, xdf_file):
    out = tmp_path / "steps.csv"
    proc = subprocess.run(
        [sys.executable, "-c", LIMITED_RUN, "60000", "run", "--source", f"xdf:{xdf_file}?speed=max&loop=1",
         "--duration", "20", "--channels", "Fp1,Fp2,C3,C4,P7,P8,O1,O2", "--calibration-s", "2", "--out", str(out),
         "--no-outlet", "--quiet", "--device", "cpu"],
        capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "could not be written" in proc.stderr and "complete rows are kept" in proc.stderr
    text = out.read_text()
    assert text.endswith("\n") and 0 < out.stat().st_size <= 60000
    rows = read_csv_log(out)
    assert rows and all(r["flags_int"] != "" and r["latency_ms"] != "" for r in rows)
