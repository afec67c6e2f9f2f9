"""How much is enough: AUC by seconds per stimulus and people per group, with the live
segment and group code; a planted effect grows with both, null data stays at chance."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bci_valence.constants import CLIP_VALENCE_GROUP
from offline.training.aggregation import aggregation_curve, clip_segment_means

GROUP = np.asarray(CLIP_VALENCE_GROUP)


def _cell(rows, seconds, size):
    return next(r for r in rows if r["seconds"] == seconds and r["group_size"] == size)


def test_segment_means_are_the_first_seconds_of_each_clip():
    v = np.random.default_rng(0).normal(size=(4, 28, 3))
    assert np.allclose(clip_segment_means(v, 10), v[:, :, 0])
    assert np.allclose(clip_segment_means(v, 30), v.mean(axis=2))
    with pytest.raises(ValueError, match="multiple of 10"):
        clip_segment_means(v, 15)


def test_a_planted_effect_grows_with_seconds_and_people_and_null_data_does_not():
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 1, (20, 28, 3))
    planted = aggregation_curve(0.3 * GROUP[None, :, None] + noise, GROUP, n_resamples=80, seed=2)
    null = aggregation_curve(noise, GROUP, n_resamples=80, seed=2)
    assert _cell(planted, 30, 20)["valence_auc"] > _cell(planted, 10, 1)["valence_auc"] + 0.15
    assert _cell(planted, 10, 20)["valence_auc"] > _cell(planted, 10, 1)["valence_auc"] + 0.1
    assert all(abs(r["valence_auc"] - 0.5) < 0.12 for r in null), null
    assert all(r["ci95"][0] <= r["valence_auc"] <= r["ci95"][1] and r["ci95_over"] == ["people", "clips"]
               for r in planted)  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_evaluate_prints_the_aggregation_list_on_faced_subjects(faced_root):
    cmd = [sys.executable, "-m", "bci_valence.cli", "evaluate", "--protocol", "unseen-clips", "--faced-root",
           str(faced_root), "--subjects", "80-85", "--aggregation", "--permutations", "50", "--bootstrap", "20",
           "--no-progress"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=280, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    cells = {(r["seconds"], r["group_size"]) for r in result["aggregation"]}
    assert cells == {(s, g) for s in (10, 20, 30) for g in (1, 2, 5)}  # 6 subjects: no group of 10 or 20
    assert all(0.0 <= r["valence_auc"] <= 1.0 for r in result["aggregation"])
    refused = subprocess.run(cmd[:4] + cmd[6:10] + ["--aggregation"], capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "needs --protocol" in refused.stderr
