"""Smoke tests of ``benchmarks/features.py --quick`` (run as a subprocess, a few seconds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "features.py"
OURS = (
    "release_exact_continuous_fir",
    "independent_windows_fir",
    "fft_variant",
    "single_window_latency_fir",
    "single_window_latency_fft",
)
PEERS = (
    "torcheeg_band_differential_entropy",
    "mne_psd_array_welch",
    "brainflow_get_avg_band_powers",
)


def _run(*args: str, env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--device", "cpu", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _check_common(result: dict) -> None:
    for key in ("benchmark", "date", "quick", "host", "input", "ours", "peers",
                "ratios_ours_over_peer", "targets", "agreement_fft_vs_fir"):  # fmt: skip
        assert key in result, key
    assert result["benchmark"] == "features" and result["quick"] is True
    # The command, date and machine that produced the figures (docs are generated from them).
    prov = result["provenance"]
    assert prov["command"].startswith("python benchmarks/features.py --quick"), prov["command"]
    assert prov["machine"]["cores"] == os.cpu_count() and prov["date"].endswith("+00:00")
    host = result["host"]
    assert host["torch_threads"] == 1
    assert len(host["load_average_start"]) == 3 and len(host["load_average_end"]) == 3
    assert result["input"]["sfreq"] == 250.0 and result["input"]["n_channels"] == 32
    assert result["input"]["n_windows"] > 0
    for name in OURS:
        timing = result["ours"]["cpu"][name]
        assert timing["windows_per_s"] > 0 and timing["us_per_window"] > 0, name
    for name in PEERS:
        peer = result["peers"][name]
        assert "skipped" in peer or peer["windows_per_s"] > 0, (name, peer)
    checks = result["targets"]["checks"]
    assert set(checks) == {"torcheeg", "brainflow"}
    assert checks["torcheeg"]["at_least"] == 500 and checks["brainflow"]["at_least"] == 50
    # --quick never claims a verdict.
    assert all(c["met"] is None for c in checks.values())


@pytest.mark.timeout(150)
def test_quick_prints_json_with_positive_rates() -> None:
    result = _run()
    _check_common(result)
    assert result["input"]["source"] in ("eeglab", "synthetic")
    assert result["peers"]["mne_psd_array_welch"]["windows_per_s"] > 0
    ratios = result["ratios_ours_over_peer"]["cpu"]
    assert ratios["release_exact_continuous_fir/mne_psd_array_welch"] > 0
    # FFT band power tracks the exact FIR DE on the same windows.
    assert result["agreement_fft_vs_fir"]["cpu"]["pearson_r_fft_vs_fir"] > 0.9
    # Paired rounds time ours and each peer back to back and give the verdict's ratio.
    paired = result["paired_rounds"]
    assert paired["rounds"] == len(paired["per_round"]) == 2
    for row in paired["per_round"]:
        assert row["ours_us_per_window"] > 0
    for name, check in result["targets"]["checks"].items():
        if f"ratio_{name}_median" in paired:
            assert check["measured"] == paired[f"ratio_{name}_median"] > 0
            low, high = check["measured_paired_range"]
            assert low <= check["measured"] <= high
            assert check["ceiling_fft_floor"] == paired[f"ceiling_ratio_{name}_median"] > 0
    # The FFT floor: the release-exact block's transforms alone, per library and round.
    floor = result["fft_floor"]
    n_fft = floor["n_fft"]
    assert floor["windows_per_block"] >= 1 and n_fft >= 1074 and floor["n_bands"] == 5
    assert floor["libraries"]["torch"][str(n_fft)]["us_per_window"] > 0
    for library in ("scipy_pocketfft", "numpy_pocketfft", "pyfftw_fftw", "ducc0"):
        entry = floor["libraries"][library]
        assert "skipped" in entry or entry[str(n_fft)]["ns_per_transformed_sample"] > 0
    assert floor["best_us_per_window"] > 0 and floor["best_library"] in floor["libraries"]
    for row in paired["per_round"]:
        assert row["fft_floor_us_per_window"] > 0
        if "brainflow_us_per_window" in row:
            expected = row["brainflow_us_per_window"] / row["fft_floor_us_per_window"]
            assert row["ceiling_ratio_brainflow"] == pytest.approx(expected)


@pytest.mark.timeout(150)
def test_quick_synthetic_and_missing_peer_is_skipped(tmp_path: Path) -> None:
    for module in ("torcheeg", "pyfftw"):
        blocker = tmp_path / module
        blocker.mkdir()
        (blocker / "__init__.py").write_text('raise ImportError("blocked by test_benchmarks")\n')
    pythonpath = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    result = _run("--synthetic", env={"PYTHONPATH": pythonpath})
    _check_common(result)
    assert result["input"]["source"] == "synthetic"
    assert "reason" in result["input"]
    skipped = result["peers"]["torcheeg_band_differential_entropy"]
    assert "skipped" in skipped and "blocked by test_benchmarks" in skipped["skipped"]
    check = result["targets"]["checks"]["torcheeg"]
    assert check["measured"] is None and "skipped" in check["note"]
    assert "ratio_torcheeg_median" not in result["paired_rounds"]
    assert "blocked by test_benchmarks" in result["fft_floor"]["libraries"]["pyfftw_fftw"]["skipped"]
    assert result["ratios_ours_over_peer"]["cpu"][
        "release_exact_continuous_fir/torcheeg_band_differential_entropy"
    ] is None  # fmt: skip


@pytest.mark.timeout(60)
def test_cuda_request_without_cuda_fails_clearly() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is present: --device cuda is valid here")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--device", "cuda"],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "CUDA is not available" in proc.stderr
