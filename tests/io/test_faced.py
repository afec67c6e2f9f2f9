"""Tests for the FACED loader (:mod:`bci_valence.io.faced`) and ``bci-valence faced``."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from bci_valence import cli, constants
from bci_valence.io import faced
from bci_valence.io.faced import FacedFormatError


# ---------------------------------------------------------------------------
# Helpers: a synthetic FACED root in the release's layout
# ---------------------------------------------------------------------------


def _write_ratings(path: Path, order: list[int], valence: np.ndarray | None = None) -> None:
    """Write an ``After_remarks.mat`` whose rows follow ``order`` (1-based clips)."""
    remarks = np.empty((len(order), 1), dtype=[("score", "O"), ("vid", "O")])
    for k, clip in enumerate(order):
        score = np.full((1, 12), 3.0)
        score[0, faced.VALENCE_ITEM] = clip / 7.0 if valence is None else valence[clip - 1]
        remarks[k, 0]["score"] = score
        remarks[k, 0]["vid"] = np.array([[clip]], dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"After_remark": remarks})


def _make_root(root: Path, n_subjects: int = 2) -> Path:
    """A valid synthetic FACED root with ``n_subjects`` subjects."""
    (root / "EEG_Features" / "DE").mkdir(parents=True)
    rows = ["sub,Gender,Age,Cohort ,Sample_rate,Unit"]
    rng = np.random.default_rng(0)
    for s in range(n_subjects):
        de = rng.normal(2.0, 0.5, faced.DE_SHAPE)
        faced.de_path(root, s).write_bytes(pickle.dumps(de))
        _write_ratings(faced.ratings_path(root, s), list(rng.permutation(28) + 1))
        rows.append(f"sub{s:03d},F,21,{1 if s <= 60 else 2},250,uV")
    (root / "Recording_info.csv").write_text("\r\n".join(rows) + "\r\n")
    return root


class _Evil:
    """Pickles to a call of ``os.system`` that would create ``sentinel``."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.sentinel}",))


@pytest.fixture
def isolated_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the ``faced`` subcommand, so siblings still being written cannot break us."""
    monkeypatch.setattr(cli, "CORE_COMMANDS", ("faced",))
    monkeypatch.setattr(cli, "entry_points", lambda group: [])


# ---------------------------------------------------------------------------
# Constants and subject specs
# ---------------------------------------------------------------------------


def test_label_constants() -> None:
    assert constants.EMOTION_CLASSES == (
        "anger", "disgust", "fear", "sadness", "neutral",
        "amusement", "inspiration", "joy", "tenderness",
    )  # fmt: skip
    assert constants.CLIP_LABELS.shape == (28,)
    assert np.issubdtype(constants.CLIP_LABELS.dtype, np.integer)
    assert constants.CLIP_LABELS[:3].tolist() == [0, 0, 0]  # clips 1-3 anger
    assert constants.CLIP_LABELS[12:16].tolist() == [4, 4, 4, 4]  # clips 13-16 neutral
    assert constants.CLIP_LABELS[-3:].tolist() == [8, 8, 8]  # clips 26-28 tenderness
    assert np.bincount(constants.CLIP_LABELS).tolist() == [3, 3, 3, 3, 4, 3, 3, 3, 3]
    assert constants.CLIP_VALENCE_GROUP.tolist() == [-1] * 12 + [0] * 4 + [1] * 12
    assert constants.CLIP_MEAN_VALENCE.shape == (28,)
    assert constants.CLIP_MEAN_VALENCE[0] == 2.00 and constants.CLIP_MEAN_VALENCE[19] == 5.23
    assert faced.RATING_ITEMS[faced.VALENCE_ITEM] == "valence" and len(faced.RATING_ITEMS) == 12
    assert len(faced.FACED_DE_CHANNELS) == 32
    assert faced.FACED_DE_CHANNELS[0] == "FP1" and faced.FACED_DE_CHANNELS[-2:] == ("A2", "A1")


def test_class_mean_valence() -> None:
    means = faced.class_mean_valence(constants.CLIP_MEAN_VALENCE)
    assert means.shape == (9,)
    assert means[0] == pytest.approx(np.mean([2.00, 1.51, 1.60]))
    assert means[4] == pytest.approx(np.mean([3.05, 3.24, 3.33, 3.09]))
    negative, neutral, positive = means[:4], means[4], means[5:]
    assert negative.max() < neutral < positive.min()
    with pytest.raises(ValueError, match="expected \\(28,\\)"):
        faced.class_mean_valence(np.zeros(27))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("0-79", list(range(80))),
        ("80-99", list(range(80, 100))),
        ("0-3,7,10-12", [0, 1, 2, 3, 7, 10, 11, 12]),
        ("sub005", [5]),
        ("sub000-sub002, 5", [0, 1, 2, 5]),
        ("3,1,3", [1, 3]),
        ([4, 2], [2, 4]),
        (np.arange(3), [0, 1, 2]),
    ],
)
def test_parse_subjects(spec, expected) -> None:
    assert faced.parse_subjects(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("5-2", "reversed"),
        ("a-b", "malformed"),
        ("1,,2", "malformed"),
        ("-3", "malformed"),
        ("1-2-3", "malformed"),
        ([1, -2], "negative"),
        ([1.5], "not an integer"),
        ([], "empty"),
    ],
)
def test_parse_subjects_rejects(spec, message) -> None:
    with pytest.raises(ValueError, match=message):
        faced.parse_subjects(spec)


def test_format_subjects_roundtrip() -> None:
    assert faced.format_subjects([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
    assert faced.parse_subjects(faced.format_subjects([9, 3, 4, 0])) == [0, 3, 4, 9]


# ---------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------


def test_load_real_subjects(faced_root: Path) -> None:
    data = faced.load_faced(faced_root, "0,60-61", progress=False)
    assert data.subjects == [0, 60, 61]
    assert data.de.shape == (3, 28, 32, 30, 5) and data.de.dtype == np.float32
    assert data.ratings.shape == (3, 28, 12) and data.ratings.dtype == np.float32
    assert data.cohorts.tolist() == [1, 1, 2]
    assert data.sample_rates.shape == (3,)
    assert data.valence.shape == (3, 28)
    assert np.isfinite(data.de).all()
    assert ((data.ratings >= 0) & (data.ratings <= 7)).all()
    assert 0.0 < float(data.de.mean()) < 10.0


def test_real_ratings_follow_clip_order(faced_root: Path) -> None:
    ratings = np.stack([faced.load_ratings(faced.ratings_path(faced_root, s)) for s in range(100)])
    valence = faced.clip_mean_ratings(ratings)[:, faced.VALENCE_ITEM]
    assert np.corrcoef(valence, constants.CLIP_MEAN_VALENCE)[0, 1] > 0.9
    # Rows are stored in presentation order: without the vid reordering the
    # correlation would be destroyed for subjects with a shuffled order.
    raw = scipy.io.loadmat(faced.ratings_path(faced_root, 0))["After_remark"].ravel()
    vids = [int(np.asarray(r["vid"]).ravel()[0]) for r in raw]
    assert sorted(vids) == list(range(1, 29))
    assert faced.class_mean_valence(valence)[:4].max() < faced.class_mean_valence(valence)[5:].min()


def test_recording_info(faced_root: Path) -> None:
    info = faced.load_recording_info(faced_root)
    assert sorted(info) == list(range(100))
    assert info[60].cohort == 1 and info[61].cohort == 2
    assert info[0].sample_rate in (250.0, 1000.0)


# ---------------------------------------------------------------------------
# Synthetic and hostile files
# ---------------------------------------------------------------------------


def test_synthetic_root_loads(tmp_path: Path) -> None:
    root = _make_root(tmp_path / "faced", n_subjects=2)
    data = faced.load_faced(root, None, progress=False)
    assert data.subjects == [0, 1]
    # Ratings are reordered by vid: valence was written as clip / 7.
    np.testing.assert_allclose(data.valence, np.tile(np.arange(1, 29) / 7.0, (2, 1)), rtol=1e-6)
    assert data.units == ("uV", "uV")


def test_malicious_pickle_is_refused(tmp_path: Path) -> None:
    root = _make_root(tmp_path / "faced")
    sentinel = tmp_path / "pwned.txt"
    path = faced.de_path(root, 1)
    path.write_bytes(pickle.dumps(_Evil(sentinel)))
    with pytest.raises(FacedFormatError, match="refused to unpickle") as err:
        faced.load_de(path)
    message = str(err.value)
    assert "system" in message and str(path) in message
    with pytest.raises(FacedFormatError, match="refused to unpickle"):
        faced.load_faced(root, "0-1", progress=False)
    assert not sentinel.exists()


def test_malicious_global_inside_array_is_refused(tmp_path: Path) -> None:
    # An object-dtype array smuggling a callable through an allowed container.
    path = tmp_path / "sub000.pkl.pkl"
    path.write_bytes(pickle.dumps(np.array([_Evil(tmp_path / "x")], dtype=object)))
    with pytest.raises(FacedFormatError, match="refused to unpickle"):
        faced.load_de(path)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (lambda: pickle.dumps(np.zeros(faced.DE_SHAPE))[:5000], "cannot unpickle"),
        (lambda: b"", "cannot unpickle"),
        (lambda: pickle.dumps(np.zeros((28, 32, 30, 4))), r"shape \(28, 32, 30, 4\)"),
        (lambda: pickle.dumps(np.zeros(faced.DE_SHAPE, dtype=np.int64)), "dtype int64"),
        (lambda: pickle.dumps(np.full(faced.DE_SHAPE, np.nan)), "non-finite"),
        (lambda: pickle.dumps([1.0, 2.0]), "holds a list"),
    ],
    ids=["truncated", "empty", "wrong-shape", "int", "nan", "list"],
)
def test_bad_de_files(tmp_path: Path, payload, message) -> None:
    path = tmp_path / "sub000.pkl.pkl"
    path.write_bytes(payload())
    with pytest.raises(FacedFormatError, match=message) as err:
        faced.load_de(path)
    assert str(path) in str(err.value)


def test_loaded_de_matches_plain_pickle(tmp_path: Path) -> None:
    root = _make_root(tmp_path / "faced", n_subjects=1)
    for protocol in (2, 4, 5):
        array = np.random.default_rng(1).normal(size=faced.DE_SHAPE)
        faced.de_path(root, 0).write_bytes(pickle.dumps(array, protocol=protocol))
        loaded = faced.load_de(faced.de_path(root, 0))
        assert loaded.dtype == np.float32
        np.testing.assert_allclose(loaded, array.astype(np.float32))


def test_bad_ratings_files(tmp_path: Path) -> None:
    path = tmp_path / "After_remarks.mat"
    path.write_bytes(b"this is not a MATLAB file at all" * 10)
    with pytest.raises(FacedFormatError, match="cannot read") as err:
        faced.load_ratings(path)
    assert str(path) in str(err.value)

    _write_ratings(path, [1] + list(range(1, 28)))  # clip 1 twice, clip 28 missing
    with pytest.raises(FacedFormatError, match=r"missing \[28\], repeated \[1\]"):
        faced.load_ratings(path)

    scipy.io.savemat(path, {"something_else": np.zeros(3)})
    with pytest.raises(FacedFormatError, match="After_remark"):
        faced.load_ratings(path)

    _write_ratings(path, list(range(1, 29)), valence=np.full(28, 9.0))
    with pytest.raises(FacedFormatError, match="expected values in 0..7"):
        faced.load_ratings(path)


def test_missing_files_are_all_listed(tmp_path: Path) -> None:
    root = _make_root(tmp_path / "faced", n_subjects=3)
    faced.de_path(root, 0).unlink()
    faced.ratings_path(root, 2).unlink()
    with pytest.raises(FileNotFoundError) as err:
        faced.load_faced(root, "0-3", progress=False)
    message = str(err.value)
    for expected in (
        str(faced.de_path(root, 0)),
        str(faced.ratings_path(root, 2)),
        str(faced.de_path(root, 3)),
        "sub003: no row in",
    ):
        assert expected in message
    assert "sub001" not in message


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="FACED root not found"):
        faced.load_faced(tmp_path / "nowhere", "0")


def test_cli_refuses_malicious_root(tmp_path: Path, isolated_cli, capsys) -> None:
    root = _make_root(tmp_path / "faced")
    sentinel = tmp_path / "pwned.txt"
    faced.de_path(root, 0).write_bytes(pickle.dumps(_Evil(sentinel)))
    assert cli.main(["faced", str(root), "--no-progress"]) != 0
    captured = capsys.readouterr()
    assert "refused to unpickle" in captured.err and "Traceback" not in captured.err
    assert not sentinel.exists()
    assert cli.main(["faced", str(tmp_path / "nowhere")]) != 0
    assert cli.main(["faced", str(root), "--subjects", "3-1"]) != 0


def test_the_readers_beside_faced_are_reexported_from_it():
    """``bci_valence.io.faced`` stays the import path of the DE, ratings and layout readers."""
    from bci_valence.io import faced_de, faced_layout, faced_ratings

    for module in (faced_de, faced_layout, faced_ratings):
        for name in module.__all__:
            assert name in faced.__all__ and getattr(faced, name) is getattr(module, name)
