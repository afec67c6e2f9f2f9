"""A bundle records the feature it was trained on, and the pipeline feeds it no other."""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bci_valence.constants import FACED_CHANNELS, FACED_SFREQ
from bci_valence.io.recordings import Recording
from bci_valence.model import bundle as bundle_module
from bci_valence.model import bundle_config
from bci_valence.model.bundle import BUNDLE_JSON, BundleConfig, BundleError, ModelBundle, check_bundle_feature
from bci_valence.model.networks import LinearProjection
from bci_valence.online.pipeline import Pipeline
from bci_valence.online.settings import ComputeSettings, PipelineSettings
from bci_valence.signal.features import DEFAULT_FEATURE
from bci_valence.streams.array_source import ArraySource
from tests.helpers import LinearBundle

CLASSES = ("anger", "disgust", "fear", "sadness", "neutral", "amusement", "inspiration", "joy", "tenderness")
MODEL_DIR = Path(bundle_module.__file__).parent


def _saved(tmp_path: Path, **config) -> Path:
    cfg = BundleConfig(class_coordinates={c: float(i) for i, c in enumerate(CLASSES)}, **config)
    return ModelBundle(cfg, LinearProjection()).save(tmp_path / "bundle")


def _source() -> ArraySource:
    n = int(2 * FACED_SFREQ)
    rec = Recording(
        data=np.zeros((len(FACED_CHANNELS), n)), sfreq=FACED_SFREQ, ch_names=list(FACED_CHANNELS),
        ch_types=["eeg"] * len(FACED_CHANNELS), timestamps=np.arange(n) / FACED_SFREQ, markers=[],
        segments=[(0, n)], source=Path("synthetic.fif"), unit="V", stream_name="synthetic",
    )  # fmt: skip
    return ArraySource(rec)


def test_saved_bundle_names_its_feature_and_old_bundles_read_as_the_default(tmp_path):
    path = _saved(tmp_path, feature_method="fft")
    data = json.loads((path / BUNDLE_JSON).read_text())
    assert data["feature_method"] == "fft"
    assert ModelBundle.load(path, device="cpu").config.feature_method == "fft"
    del data["feature_method"]  # written before bundles named their feature
    (path / BUNDLE_JSON).write_text(json.dumps(data))
    assert ModelBundle.load(path, device="cpu").config.feature_method == DEFAULT_FEATURE == "fir"


def test_pipeline_refuses_a_bundle_trained_on_another_feature(tmp_path):
    bundle = ModelBundle.load(_saved(tmp_path, feature_method="fft"), device="cpu")
    settings = PipelineSettings(compute=ComputeSettings(device="cpu", feature_method="fir"))
    with pytest.raises(BundleError, match=r"trained on 'fft' features.*set to compute 'fir'"):
        Pipeline([_source()], bundle, settings)
    # unset: the bundle's own feature is computed
    pipe = Pipeline([_source()], bundle, replace(settings, compute=ComputeSettings(device="cpu")))
    assert pipe.bank.settings.method == "fft" and pipe.bank.context_samples == 0
    assert pipe.streaming is None  # the incremental FIR path does not apply to fft


def test_a_model_without_a_feature_field_counts_as_trained_on_the_default():
    model = LinearBundle()
    model.config = object()  # a ValenceModel whose config predates the field
    assert check_bundle_feature(model.config) == DEFAULT_FEATURE
    assert check_bundle_feature(model.config, DEFAULT_FEATURE) == DEFAULT_FEATURE
    with pytest.raises(BundleError, match="trained on 'fir'"):
        check_bundle_feature(model.config, "fft")
    pipe = Pipeline([_source()], LinearBundle(), PipelineSettings(compute=ComputeSettings(device="cpu")))
    assert pipe.bank.settings.method == DEFAULT_FEATURE and pipe.streaming is not None


def test_bundle_names_stay_importable_from_bci_valence_model_bundle():
    for name in bundle_config.__all__:
        assert getattr(bundle_module, name) is getattr(bundle_config, name), name
    assert set(bundle_config.__all__) <= set(bundle_module.__all__)


def test_model_modules_and_functions_stay_readable():
    """No module of ``bci_valence/model`` over 600 lines, no function over 80."""
    too_long = []
    for path in sorted(MODEL_DIR.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 600:
            too_long.append(f"{path.name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 80:
                    too_long.append(f"{path.name}:{node.lineno} {node.name}: {length} lines")
    assert too_long == []
