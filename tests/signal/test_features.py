"""Feature methods as an extension point: one registry (entry points), built-ins included."""

from __future__ import annotations

import argparse
from importlib.metadata import EntryPoint
from typing import ClassVar

import numpy as np
import pytest
import torch

from bci_valence.online.settings import ComputeSettings
from bci_valence.signal import features
from bci_valence.signal.de import BandFilterBank, de_sequence
from bci_valence.signal.feature_methods import FirBandVariance, PeriodogramBandVariance
from bci_valence.signal.filter_design import FeatureSettings, design_band_filters

GROUP = features.ENTRY_POINT_GROUP
BUILT_IN = [
    EntryPoint("fir", "bci_valence.signal.feature_methods:FirBandVariance", GROUP),
    EntryPoint("fft", "bci_valence.signal.feature_methods:PeriodogramBandVariance", GROUP),
]


class BroadbandVariance:
    """A plugin without a filter: the window's variance, the same for every band."""

    name: ClassVar[str] = "broadband"
    summary: ClassVar[str] = "variance of the bare window"
    incremental: ClassVar[bool] = False

    def __init__(self, settings: FeatureSettings, device: torch.device) -> None:
        self.n_bands = len(settings.bands)
        self.taps = None
        self.context_samples = 0

    def band_variance(self, x: torch.Tensor) -> torch.Tensor:
        return x.var(-1, unbiased=False).unsqueeze(-1).expand(*x.shape[:-1], self.n_bands)


class FirCopy(FirBandVariance):
    """A plugin that brings only a filter design: the bank filters and takes the variance."""

    name: ClassVar[str] = "fir-copy"
    incremental: ClassVar[bool] = False


class NotAnExtractor:
    def __init__(self, settings, device) -> None:
        self.n_bands = 5


@pytest.fixture()
def registry(monkeypatch):
    """Replace the installed entry points with ``BUILT_IN`` + what the test appends."""
    entries = list(BUILT_IN)
    monkeypatch.setattr(features, "entry_points", lambda group: [e for e in entries if e.group == group])
    features.refresh()
    yield entries
    monkeypatch.undo()
    features.refresh()


def _plugin(entries, name, target):
    entries.append(EntryPoint(name, f"tests.signal.test_features:{target}", GROUP))
    features.refresh()


def test_built_in_methods_come_from_the_installed_entry_points():
    assert features.feature_names()[0] == features.DEFAULT_FEATURE == "fir"
    assert set(features.feature_names()) >= {"fir", "fft"}
    assert features.feature_factory("fir") is FirBandVariance
    assert features.feature_factory("fft") is PeriodogramBandVariance
    device = torch.device("cpu")
    for method in features.feature_names():
        extractor = features.build_feature(FeatureSettings(method=method, device="cpu"), device)
        assert isinstance(extractor, features.FeatureExtractor)
        assert extractor.name == method and extractor.n_bands == 5 and extractor.summary


def test_the_choices_are_defined_once_by_the_registry(registry):
    from bci_valence import cli

    _plugin(registry, "broadband", "BroadbandVariance")
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    method = next(a for a in sub.choices["features"]._actions if a.dest == "method")
    assert tuple(method.choices) == features.feature_names() == ("fir", "broadband", "fft")
    assert method.default == features.DEFAULT_FEATURE
    assert FeatureSettings(method="broadband").method == "broadband"
    assert ComputeSettings(feature_method="broadband").feature_method == "broadband"
    for build in (lambda: FeatureSettings(method="welch"), lambda: ComputeSettings(feature_method="welch")):
        with pytest.raises(ValueError, match=r"must be one of 'fir', 'broadband', 'fft'; got 'welch'"):
            build()


def test_a_plugin_without_a_filter_computes_from_the_bare_window(registry):
    _plugin(registry, "broadband", "BroadbandVariance")
    settings = FeatureSettings(method="broadband", device="cpu")
    bank = BandFilterBank(settings)
    assert bank.context_samples == 0 and bank.n_input == settings.window_samples
    rng = np.random.default_rng(0)
    data = rng.standard_normal((32, 5 * 250)).astype(np.float32)
    de, start = de_sequence(data, settings, hop_s=1.0)
    assert de.shape == (5, 32, 5) and list(start) == [0, 250, 500, 750, 1000]
    windows = data[:, :1250].reshape(32, 5, 250).transpose(1, 0, 2)
    expected = 0.5 * np.log(2 * np.pi * np.e * windows.var(-1))
    np.testing.assert_allclose(de, np.repeat(expected[..., None], 5, -1), rtol=1e-4)


def test_a_plugin_with_a_filter_design_is_band_passed_by_the_bank(registry):
    _plugin(registry, "fir-copy", "FirCopy")
    rng = np.random.default_rng(1)
    data = rng.standard_normal((4, 3000))
    copy, _ = de_sequence(data, FeatureSettings(method="fir-copy", device="cpu"), hop_s=0.5)
    fir, _ = de_sequence(data, FeatureSettings(method="fir", device="cpu"), hop_s=0.5)
    np.testing.assert_array_equal(copy, fir)
    bank = BandFilterBank(FeatureSettings(method="fir-copy", device="cpu"))
    assert bank.context_samples == design_band_filters(bank.settings).shape[1] - 1


def test_registry_errors_say_what_is_wrong(registry):
    _plugin(registry, "bad", "NotAnExtractor")
    with pytest.raises(features.FeatureRegistryError, match=r"'bad' built a NotAnExtractor, which lacks"):
        BandFilterBank(FeatureSettings(method="bad", device="cpu"))
    _plugin(registry, "gone", "NoSuchClass")
    with pytest.raises(features.FeatureRegistryError, match=r"'gone' \(tests\.signal\.test_features:NoSuchClass\) failed"):
        features.feature_factory("gone")
    registry.append(EntryPoint("fir", "elsewhere:Fir", GROUP))
    features.refresh()
    with pytest.raises(features.FeatureRegistryError, match="'fir' is registered twice"):
        features.feature_names()
    registry.clear()
    features.refresh()
    with pytest.raises(features.FeatureRegistryError, match="no feature methods are registered.*reinstall"):
        features.feature_names()


class WrongContext(FirBandVariance):
    """A filter design whose context disagrees with its taps."""

    name: ClassVar[str] = "wrong-context"

    def __init__(self, settings: FeatureSettings, device: torch.device) -> None:
        super().__init__(settings, device)
        self.context_samples -= 2


def test_a_filter_design_must_agree_with_its_context(registry):
    _plugin(registry, "wrong-context", "WrongContext")
    with pytest.raises(features.FeatureRegistryError, match=r"taps must have shape \(n_bands=5, context_samples \+ 1="):
        BandFilterBank(FeatureSettings(method="wrong-context", device="cpu"))
