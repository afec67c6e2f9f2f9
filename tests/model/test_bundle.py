"""Model bundle: round trip, clear errors on mismatch, the shipped default."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from bci_valence.model.bundle import BUNDLE_JSON, ENSEMBLE_FILE, PROJECTION_FILE, BundleConfig, BundleError, ModelBundle, default_bundle_path
from bci_valence.model.networks import ClassifierSettings, DEClassifier, LinearProjection

CLASSES = ("anger", "disgust", "fear", "sadness", "neutral",
           "amusement", "inspiration", "joy", "tenderness")


def _small_bundle(n_members: int = 2, seed: int = 0) -> ModelBundle:
    torch.manual_seed(seed)
    settings = ClassifierSettings(d_model=8, depth=1)
    members = [DEClassifier(settings) for _ in range(n_members)]
    projection = LinearProjection()
    with torch.no_grad():
        projection.weight.normal_()
        projection.bias.fill_(0.25)
    config = BundleConfig(
        class_coordinates={c: float(i) - 4 for i, c in enumerate(CLASSES)},
        classifier=settings.to_dict(),
        n_members=n_members,
    )
    return ModelBundle(config, projection, members).to("cpu")


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[ModelBundle, Path]:
    bundle = _small_bundle()
    return bundle, bundle.save(tmp_path / "bundle")


def test_round_trip_identical_outputs(saved):
    bundle, path = saved
    loaded = ModelBundle.load(path, device="cpu")
    rng = np.random.default_rng(0)
    seq = rng.standard_normal((7, 10, 32, 5)).astype(np.float32)
    np.testing.assert_array_equal(bundle.predict_proba(seq), loaded.predict_proba(seq))
    np.testing.assert_array_equal(bundle.project(seq[:, 0]), loaded.project(seq[:, 0]))
    np.testing.assert_array_equal(bundle.projection_weights, loaded.projection_weights)
    assert loaded.config == bundle.config
    assert loaded.predict_proba(seq).shape == (7, 9)
    np.testing.assert_allclose(loaded.predict_proba(seq).sum(axis=1), 1.0, atol=1e-9)
    # unbatched inputs
    assert loaded.predict_proba(seq[0]).shape == (9,)
    assert np.shape(loaded.project(seq[0, 0])) == ()
    # projection is the documented linear map
    w = loaded.projection_weights
    assert w.shape == (32, 5)
    np.testing.assert_allclose(loaded.project(seq[:, 0]), (seq[:, 0] * w).sum((1, 2)) + 0.25, rtol=1e-5)


def test_no_pickle_files(saved):
    _, path = saved
    names = sorted(p.name for p in path.iterdir())
    assert names == sorted([BUNDLE_JSON, PROJECTION_FILE, ENSEMBLE_FILE])


def test_projection_only_bundle(tmp_path):
    config = BundleConfig(class_coordinates={c: 0.0 for c in CLASSES})
    bundle = ModelBundle(config, LinearProjection())
    loaded = ModelBundle.load(bundle.save(tmp_path / "p"))
    assert not loaded.has_classifier
    assert loaded.project(np.zeros((3, 32, 5))).shape == (3,)
    with pytest.raises(RuntimeError, match="no classifier"):
        loaded.predict_proba(np.zeros((1, 10, 32, 5)))


def test_version_mismatch(saved):
    _, path = saved
    meta = path / BUNDLE_JSON
    data = json.loads(meta.read_text())
    data["format_version"] = 99
    meta.write_text(json.dumps(data))
    with pytest.raises(BundleError, match=r"bundle\.json.*format_version 99"):
        ModelBundle.load(path)


def test_shape_mismatch_names_tensor(saved):
    _, path = saved
    meta = path / BUNDLE_JSON
    data = json.loads(meta.read_text())
    data["classifier"]["d_model"] = 16
    meta.write_text(json.dumps(data))
    with pytest.raises(BundleError, match=r"ensemble\.safetensors.*member00\..*shape"):
        ModelBundle.load(path)


def test_missing_tensor_names_it(saved):
    from safetensors.torch import load_file, save_file

    _, path = saved
    tensors = load_file(str(path / PROJECTION_FILE))
    del tensors["bias"]
    save_file(tensors, str(path / PROJECTION_FILE))
    with pytest.raises(BundleError, match=r"projection\.safetensors.*missing tensor 'bias'"):
        ModelBundle.load(path)


def test_member_count_mismatch(saved):
    _, path = saved
    meta = path / BUNDLE_JSON
    data = json.loads(meta.read_text())
    data["n_members"] = 3
    meta.write_text(json.dumps(data))
    with pytest.raises(BundleError, match="member02"):
        ModelBundle.load(path)
    data["n_members"] = 1
    meta.write_text(json.dumps(data))
    with pytest.raises(BundleError, match="unexpected tensor"):
        ModelBundle.load(path)


def test_channel_count_mismatch(saved):
    _, path = saved
    meta = path / BUNDLE_JSON
    data = json.loads(meta.read_text())
    data["channels"] = data["channels"][:30]
    meta.write_text(json.dumps(data))
    with pytest.raises(BundleError, match="projection.safetensors.*'weight'.*shape"):
        ModelBundle.load(path)


def test_missing_files(tmp_path, saved):
    _, path = saved
    with pytest.raises(BundleError, match="not a folder"):
        ModelBundle.load(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(path, broken)
    (broken / ENSEMBLE_FILE).unlink()
    with pytest.raises(BundleError, match=r"ensemble\.safetensors"):
        ModelBundle.load(broken)
    (broken / BUNDLE_JSON).write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        ModelBundle.load(broken)
    (broken / BUNDLE_JSON).unlink()
    with pytest.raises(BundleError, match="bundle.json is missing"):
        ModelBundle.load(broken)


def test_corrupt_safetensors(saved):
    _, path = saved
    (path / PROJECTION_FILE).write_bytes(b"\x80\x04not a safetensors file")
    with pytest.raises(BundleError, match=r"projection\.safetensors"):
        ModelBundle.load(path)


def test_unknown_config_key(saved):
    _, path = saved
    meta = path / BUNDLE_JSON
    data = json.loads(meta.read_text())
    data["surprise"] = 1
    meta.write_text(json.dumps(data))
    with pytest.raises(BundleError, match="surprise"):
        ModelBundle.load(path)


def test_input_shape_errors(saved):
    bundle, _ = saved
    with pytest.raises(ValueError, match="predict_proba expects"):
        bundle.predict_proba(np.zeros((2, 9, 32, 5)))
    with pytest.raises(ValueError, match="project expects"):
        bundle.project(np.zeros((2, 31, 5)))


def test_default_bundle_loads_and_predicts():
    path = default_bundle_path()
    if not (path / BUNDLE_JSON).is_file():
        pytest.skip(f"no shipped bundle at {path}")
    bundle = ModelBundle.load()
    cfg = bundle.config
    from bci_valence.constants import FACED_CHANNELS

    assert tuple(cfg.channels) == tuple(FACED_CHANNELS)
    assert cfg.class_names == CLASSES
    assert set(cfg.class_coordinates) == set(CLASSES)
    assert cfg.sfreq == 250.0 and cfg.sequence_seconds == 10
    assert bundle.has_classifier
    seq = np.random.default_rng(1).standard_normal((4, 10, 32, 5)).astype(np.float32)
    p = bundle.predict_proba(seq)
    assert p.shape == (4, 9)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert bundle.project(seq[:, -1]).shape == (4,)
    assert bundle.projection_weights.shape == (32, 5)
    assert bundle.device.type in ("cpu", "cuda")
    # a few MB at most
    size = sum(f.stat().st_size for f in path.iterdir())
    assert size < 10 * 2**20


@pytest.mark.parametrize(("key", "value", "message"), [
    ("sfreq", 1e7, r"bundle\.json: sfreq must be in \[64, 4096\], got 10000000\.0$"),
    ("sequence_spacing_s", 0, r"sequence_spacing_s must be in \[0\.1, 10\], got 0$"),
    ("sequence_spacing_s", float("nan"), r"sequence_spacing_s must be a finite number"),
    ("valence_average", 1e9, r"valence_average must be in \[1, 60\], got 1000000000\.0$"),
    ("valence_average", 2.5, r"valence_average must be a whole number"),
    ("n_members", "3", r"n_members must be a number, got str"),
    ("feature_method", 3, r"feature_method must be str, got int"),
    ("feature_method", " ", r"feature_method must name a feature method"),
    ("bands", {"delta": [1, 4], "gamma": [30, 300]}, r"bands\['gamma'\].*half of sfreq"),
])  # fmt: skip
def test_settings_outside_their_range_are_refused_naming_the_key(saved, key, value, message):
    _, path = saved
    meta = path / BUNDLE_JSON
    data = json.loads(meta.read_text())
    data[key] = value
    meta.write_text(json.dumps(data))
    with pytest.raises(BundleError, match=message):
        ModelBundle.load(path)


def test_deep_or_huge_bundle_json_is_refused(saved):
    _, path = saved
    meta = path / BUNDLE_JSON
    data = json.loads(meta.read_text())
    meta.write_text(json.dumps(data)[:-1] + ', "training": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(BundleError, match="nested too deeply"):
        ModelBundle.load(path)
    meta.write_text(json.dumps({**data, "training": {"log": "x" * (5 * 1024 * 1024)}}))
    with pytest.raises(BundleError, match="bytes; a bundle description is at most"):
        ModelBundle.load(path)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_tensor(saved, bad):
    from safetensors.torch import load_file, save_file

    _, path = saved
    for name, key in ((PROJECTION_FILE, "weight"), (ENSEMBLE_FILE, None)):
        tensors = load_file(str(path / name))
        key = key or next(k for k in tensors if tensors[k].is_floating_point())
        original = tensors[key].clone()
        tensors[key].view(-1)[0] = bad
        save_file(tensors, str(path / name))
        with pytest.raises(BundleError, match=rf"{name}: tensor '{key}' holds 1 NaN or infinite"):
            ModelBundle.load(path)
        tensors[key] = original
        save_file(tensors, str(path / name))
    ModelBundle.load(path)
