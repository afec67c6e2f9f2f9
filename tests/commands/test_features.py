"""``bci-valence features``: DE of a recording on the 32-channel montage, in FACED's units."""

from __future__ import annotations

import numpy as np

from bci_valence import cli


def test_features_command_on_eeglab(eeglab_set, tmp_path):
    import numpy as np

    out = tmp_path / "features.npz"
    assert cli.main(["features", str(eeglab_set), "-o", str(out), "--no-progress"]) == 0
    saved = np.load(out, allow_pickle=False)
    assert saved["de"].shape[1:] == (32, 5)
    # from microvolts, as FACED's DE (about 2.4 there); from volts it would be about -10
    assert str(saved["unit"]) == "uV" and "uV^2" in str(saved["de_unit"])
    assert 0.0 < float(np.median(saved["de"])) < 6.0
    assert saved["de"].shape[0] > 200  # ~238 s of recording, one window per second
    assert list(saved["band_names"]) == ["delta", "theta", "alpha", "beta", "gamma"]
    assert set(saved["interpolated"]) == {"Fp1", "Fp2", "F7", "F8", "A1", "A2"}
    assert np.isfinite(saved["de"]).all()
    assert np.all(np.diff(saved["times"]) > 0)
    threaded = tmp_path / "threaded.npz"
    assert cli.main(["features", str(eeglab_set), "-o", str(threaded), "--workers", "2", "--no-progress"]) == 0
    np.testing.assert_allclose(np.load(threaded)["de"], saved["de"], rtol=1e-6)
    assert cli.main(["features", str(eeglab_set), "-o", str(threaded), "--workers", "0"]) == 1


def test_features_never_replaces_an_existing_file_unless_asked(eeglab_set, tmp_path, capsys):
    out = tmp_path / "earlier.npz"
    out.write_bytes(b"an earlier result")
    assert cli.main(["features", str(eeglab_set), "-o", str(out), "--no-progress"]) == 1
    assert "--overwrite" in capsys.readouterr().err and out.read_bytes() == b"an earlier result"
    assert cli.main(["features", str(eeglab_set), "-o", str(tmp_path / "x.csv")]) == 1
    assert ".npz" in capsys.readouterr().err
    assert cli.main(["features", str(eeglab_set), "-o", str(out), "--no-progress", "--overwrite"]) == 0
    assert np.load(out)["de"].shape[1:] == (32, 5)


def test_features_command_refuses_unlabelled_xdf(xdf_file, tmp_path, capsys):
    out = tmp_path / "x.npz"
    assert cli.main(["features", str(xdf_file), "-o", str(out)]) == 1
    assert "could not place" in capsys.readouterr().err
    assert not out.exists()
    labels = "Fp1,Fp2,C3,C4,P7,P8,O1,O2"
    assert cli.main(["features", str(xdf_file), "-o", str(out), "--channels", labels]) == 0
    assert np.load(out)["de"].shape[1:] == (32, 5)
