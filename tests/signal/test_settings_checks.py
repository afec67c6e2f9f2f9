"""Settings refuse bad values when built, with the shared one-line messages."""

from __future__ import annotations

import pytest

from bci_valence.online.settings import (
    CalibrationSettings,
    ComputeSettings,
    PipelineSettings,
    StreamSettings,
)
from bci_valence.signal.filter_design import FeatureSettings
from bci_valence.signal.preprocessing import FilterSettings


@pytest.mark.parametrize(("build", "error", "message"), [
    (lambda: PipelineSettings(hop_s=20), ValueError, r"^hop_s must be in \[0\.02, 10\] s, got 20$"),
    (lambda: PipelineSettings(hop_s="0.25"), TypeError, r"^hop_s must be a number, got str$"),
    (lambda: PipelineSettings(valence_average=0), ValueError, r"^valence_average must be >= 1, got 0$"),
    (lambda: PipelineSettings(filter=FilterSettings(notch_hz=55)), ValueError,
     r"^notch_hz \(0 or None: no notch\) must be one of 50\.0, 60\.0, 0\.0; got 55\.0$"),
    (lambda: StreamSettings(units="mV"), ValueError, r"^units must be one of 'auto', 'uV', 'V'; got 'mV'$"),
    (lambda: StreamSettings(min_channels=0), ValueError, r"^min_channels must be >= 1, got 0$"),
    (lambda: StreamSettings(stale_after_s=0), ValueError, r"^stale_after_s must be > 0 s, got 0$"),
    (lambda: CalibrationSettings(seconds=-1), ValueError, r"^calibration seconds must be >= 0 s, got -1$"),
    (lambda: CalibrationSettings(path=3), TypeError, r"^calibration path must be path-like or None, got int$"),
    (lambda: ComputeSettings(max_batch=0), ValueError, r"^max_batch must be >= 1, got 0$"),
    (lambda: ComputeSettings(torch_threads=0), ValueError, r"^torch_threads must be >= 1, got 0$"),
    (lambda: ComputeSettings(cpu_sub_batch=1.5), ValueError, r"^cpu_sub_batch must be a whole number, got 1\.5$"),
    (lambda: ComputeSettings(device=None), TypeError, r"^device must be str, got NoneType$"),
    (lambda: ComputeSettings(feature_method="welch"), ValueError, r"^feature_method must be one of 'fir', .*got 'welch'$"),
    (lambda: FeatureSettings(sfreq=0), ValueError, r"^sfreq must be > 0 Hz, got 0$"),
    (lambda: FeatureSettings(window_s=-1), ValueError, r"^window_s must be > 0 s, got -1$"),
    (lambda: FeatureSettings(method="welch"), ValueError, r"^method must be one of 'fir', .*got 'welch'$"),
])  # fmt: skip
def test_bad_settings_are_refused_naming_the_setting(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_good_settings_pass_unchanged():
    settings = PipelineSettings(
        hop_s=0.02, valence_average=3, stream=StreamSettings(stale_after_s=float("inf")),
        compute=ComputeSettings(feature_method="fft", torch_threads=None),
    )  # fmt: skip
    assert settings.hop_s == 0.02 and settings.compute.feature_method == "fft"
    assert ComputeSettings().feature_method is None  # None: the bundle's own feature
    assert FeatureSettings().method == "fir"
