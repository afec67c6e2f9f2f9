"""Offline training: a small model on a few real FACED subjects, evaluation, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bci_valence.model.bundle import ModelBundle
from bci_valence.model.networks import ClassifierSettings
from bci_valence.signal.normalization import RunningStandardizer
from offline import training as T

TRAIN = list(range(0, 20))
VAL = list(range(80, 86))


def _tiny_settings(**kw) -> T.TrainSettings:
    base = T.TrainSettings(
        epochs=10, batch_size=128, classifier=ClassifierSettings(d_model=32, depth=1), n_ensemble=2,
        progress=False, ridge_alphas=(1e-2, 1.0), pls_components=(2,), threads=1, device="cpu",
    )
    return replace(base, **kw)


@pytest.fixture(scope="module")
def trained(faced_root: Path, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bundle") / "b"
    lines: list[str] = []
    summary = T.run_training(faced_root, TRAIN, VAL, out, _tiny_settings(ablation=False),
                             console=lines.append)
    summary["console"] = lines
    return out, summary


def test_default_architecture_is_the_models_own():
    model = ClassifierSettings()
    recipe = T.TrainSettings()
    assert recipe.classifier == model
    architecture = T.classifier_settings_for(recipe, ("baseline",))
    for name in ("d_model", "depth", "dropout", "input_dropout", "kernel_size", "pooling"):
        assert getattr(model, name) == getattr(architecture, name), name
    assert T.classifier_settings_for(recipe, ("baseline", "deep")).depth == 2 * model.depth
    # the architecture is composed, not repeated: no architecture field of its own
    assert not {"d_model", "depth", "pooling"} & set(T.TrainSettings.__dataclass_fields__)


def test_standardization_matches_running_standardizer():
    rng = np.random.default_rng(0)
    de = rng.gamma(2.0, 1.0, size=(2, 28, 32, 30, 5)).astype(np.float32)
    z = T.standardize_subjects(de)
    assert z.shape == (2, 28, 30, 32, 5)
    std = RunningStandardizer((32, 5))
    std.update(de[1].transpose(0, 2, 1, 3).reshape(-1, 32, 5))
    ref = std.transform(de[1].transpose(0, 2, 1, 3))
    np.testing.assert_allclose(z[1], ref, rtol=1e-4, atol=1e-4)


def test_windows_layout():
    z = np.arange(2 * 28 * 30 * 32 * 5, dtype=np.float32).reshape(2, 28, 30, 32, 5)
    labels = np.arange(28) % 9
    w = T.make_windows(z, labels)
    assert w["x"].shape == (2 * 28 * 3, 10, 32, 5)
    # subject 1, clip 5, window 2 = seconds 20-29 of that clip
    i = 1 * 84 + 5 * 3 + 2
    np.testing.assert_array_equal(w["x"][i], z[1, 5, 20:30])
    assert (w["subject"][i], w["clip"][i], w["window"][i], w["y"][i]) == (1, 5, 2, labels[5])


def test_parse_stages():
    assert T.parse_stages("all") == T.STAGES
    assert T.parse_stages("distill") == ("baseline", "augment", "distill")
    assert T.parse_stages("augment,baseline") == ("baseline", "augment")
    with pytest.raises(ValueError, match="unknown stage"):
        T.parse_stages("baseline,magic")


def test_training_beats_chance_and_round_trips(trained, faced_root):
    out, summary = trained
    bundle = ModelBundle.load(out, device="cpu")
    assert bundle.config.n_members == 2
    assert bundle.config.training["train_subjects"] == "0-19"
    res = T.evaluate_bundle(bundle, faced_root, VAL, progress=False)
    # 9 classes: chance BACC = 0.111
    assert res["bacc"] > 0.16, res
    assert res["kappa"] > 0.05, res
    assert res["clip_r_axis"] > 0.2, res
    assert res["n_samples"] == len(VAL) * 28 * 3
    assert res["in_sample_subjects"] is None
    # evaluation with the loaded bundle reproduces the validation figure measured in training
    assert res["bacc"] == pytest.approx(bundle.config.metrics["classifier"]["bacc"], abs=1e-9)
    assert res["clip_r_axis"] == pytest.approx(bundle.config.metrics["projection"]["clip_r_axis"], abs=1e-6)


def test_ablation_rows(faced_root, tmp_path):
    s = _tiny_settings(epochs=1, n_ensemble=2, classifier=ClassifierSettings(d_model=8, depth=1))
    lines: list[str] = []
    summary = T.run_training(faced_root, TRAIN[:3], VAL[:1], tmp_path / "a", s, console=lines.append)
    # one row per cumulative stage, on validation subjects
    assert [r["stage"] for r in summary["ablation"]] == [
        "baseline", "+ augment", "+ distill", "+ deep", "+ ensemble"]
    assert [r["n_members"] for r in summary["ablation"]] == [1, 1, 1, 1, 2]
    assert any("| stage |" in line for line in lines)
    cfg = ModelBundle.load(summary["bundle"]).config
    assert len(cfg.metrics["ablation"]) == 5
    assert cfg.classifier["depth"] == 2  # deep doubles depth 1


def test_choose_stage_set_takes_the_best_validation_bacc_and_the_shorter_on_ties():
    rows = [{"stages": list(T.STAGES[: i + 1]), "bacc": b} for i, b in enumerate((0.20, 0.25, 0.22, 0.25, 0.24))]
    assert T.choose_stage_set(rows) == 1  # 0.25 twice: the shorter set
    rows[3]["bacc"] = 0.26
    assert T.choose_stage_set(rows) == 3
    assert T.choose_stage_set(rows[:1]) == 0
    with pytest.raises(ValueError, match="no stage set"):
        T.choose_stage_set([])


def test_auto_stages_choose_on_validation_and_are_recorded(faced_root, tmp_path):
    s = _tiny_settings(epochs=1, n_ensemble=2, classifier=ClassifierSettings(d_model=8, depth=1),
                       choose_stages=True)
    lines: list[str] = []
    summary = T.run_training(faced_root, TRAIN[:3], VAL[:1], tmp_path / "a", s,
                             refit_subjects=TRAIN[:4], console=lines.append)
    rows = summary["ablation"]
    chosen = rows[T.choose_stage_set(rows)]["stages"]
    cfg = ModelBundle.load(summary["bundle"]).config
    selection = cfg.training["stage_selection"]
    assert selection["chosen"] == chosen == cfg.training["stages"]
    assert [c["stages"] for c in selection["candidates"]] == [r["stages"] for r in rows]
    assert [c["bacc"] for c in selection["candidates"]] == [r["bacc"] for r in rows]
    assert "highest validation BACC on sub 80" in selection["chosen_by"]
    assert "trained on sub 0-2" in selection["chosen_by"]
    # the settings as given (the candidates), the refit and its members follow the choice
    assert cfg.training["settings"]["choose_stages"] is True
    assert cfg.training["settings"]["stages"] == list(T.STAGES)
    assert cfg.training["train_subjects"] == "0-3"
    assert cfg.n_members == (2 if "ensemble" in chosen else 1)
    assert cfg.metrics["classifier"]["bacc"] == rows[T.choose_stage_set(rows)]["bacc"]
    # the protocol evaluation carries the choice with its figures
    bundle = ModelBundle.load(summary["bundle"], device="cpu")
    res = T.evaluate_protocol(bundle, faced_root, VAL[:1], "seen-clips", n_permutations=9, n_bootstrap=5,
                              progress=False)
    assert res["selection"]["stage_selection"] == selection
    assert res["selection"]["selection_train_subjects"] == "0-2" and res["selection"]["validation_subjects"] == "80"


def test_auto_stages_need_the_ablation_on_validation(faced_root, tmp_path, capsys):
    from bci_valence.cli import main

    with pytest.raises(ValueError, match="choose_stages needs the ablation"):
        T.TrainSettings(choose_stages=True, ablation=False)
    with pytest.raises(ValueError, match="needs validation subjects"):
        T.run_training(faced_root, [0], [], tmp_path / "c", _tiny_settings(choose_stages=True))
    for extra in (["--val", "none"], ["--no-ablation"]):
        rc = main(["train", "--faced-root", str(faced_root), "--train", "0-1", "--stages", "auto",
                   "--out", str(tmp_path / "b"), "--no-progress", *extra])
        assert rc == 2
        assert "--stages auto" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_training_is_deterministic(faced_root, tmp_path):
    s = _tiny_settings(epochs=2, n_ensemble=1, ablation=False, stages=("baseline", "augment"))
    a = T.run_training(faced_root, TRAIN[:4], VAL[:2], tmp_path / "a", s, console=lambda *_: None)
    b = T.run_training(faced_root, TRAIN[:4], VAL[:2], tmp_path / "b", s, console=lambda *_: None)
    ba, bb = ModelBundle.load(a["bundle"]), ModelBundle.load(b["bundle"])
    seq = np.random.default_rng(0).standard_normal((5, 10, 32, 5)).astype(np.float32)
    np.testing.assert_array_equal(ba.predict_proba(seq), bb.predict_proba(seq))
    np.testing.assert_array_equal(ba.projection_weights, bb.projection_weights)


def test_in_sample_subjects_flagged(trained, faced_root, caplog):
    out, _ = trained
    bundle = ModelBundle.load(out, device="cpu")
    with caplog.at_level("WARNING"):
        res = T.evaluate_bundle(bundle, faced_root, [3, 80], progress=False)
    assert res["in_sample_subjects"] == "3"
    assert "in-sample" in caplog.text


def test_missing_subjects_are_named(faced_root):
    bundle = ModelBundle.load()
    with pytest.raises(FileNotFoundError, match=r"sub(100|1\d\d)"):
        T.evaluate_bundle(bundle, faced_root, [5, 100, 101], progress=False)


def test_evaluate_cli_json(trained, faced_root, capsys):
    from bci_valence.cli import main

    out, _ = trained
    rc = main(["evaluate", "--faced-root", str(faced_root), "--subjects", "80-81",
               "--bundle", str(out), "--no-progress"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("bacc", "kappa", "weighted_f1", "n_samples", "clip_r_axis", "clip_r_ratings",
                "sample_r", "bundle"):
        assert key in res
    assert res["n_samples"] == 2 * 84


def test_evaluate_cli_missing_subjects(faced_root, capsys):
    from bci_valence.cli import main

    rc = main(["evaluate", "--faced-root", str(faced_root), "--subjects", "98-101", "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "sub100" in err and "sub101" in err


def test_report_writes_markdown_and_figures(trained, faced_root, tmp_path):
    from offline.report import write_report

    out, _ = trained
    path = write_report(tmp_path / "rep", bundle_path=out, faced_root=faced_root,
                        subjects=[80, 81], progress=False)
    text = path.read_text()
    for fig in ("confusion.png", "clip_projection.png", "topomaps.png"):
        assert fig in text
        assert (path.parent / fig).stat().st_size > 1000


@pytest.mark.parametrize("command", ["train", "evaluate", "report"])
def test_help(command, capsys):
    from bci_valence.cli import main

    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "--faced-root" in capsys.readouterr().out
