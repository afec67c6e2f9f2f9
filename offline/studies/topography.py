"""Topography study: where on the scalp the V-axis lives in stimulus-level DE.

No training. For the selected (held-out) subjects, every subject's DE features are
z-scored per channel × band over its own 840 1-s vectors
(:func:`offline.training.standardize_subjects`), averaged over the 30 s of each clip
and over subjects: one stimulus-level value per clip × channel × band. For each
channel × band, ``r`` is the Pearson correlation across the 28 clips between that
value and the V-axis coordinate of the clip's emotion class.

Figures (JSON keys)
-------------------
``r``
    32 × 5 (channels in FACED order × bands delta..gamma).
``regions``
    ``{region: mean |r|}`` over the region's channels and all five bands; regions
    from :mod:`offline.studies.regions`.
``top``
    ``{"channel", "band", "r"}``: the channel × band with the largest ``|r|``.
``arousal_split``
    ``{"high": r, "rest": r}`` of the top channel × band over the 9 clips with the
    highest mean arousal rating and over the 19 others. The mean arousal of a clip
    is taken over every subject with ratings in the FACED root (``arousal_subjects``).

Tests (JSON keys)
-----------------
The null permutes the nine classes' V-axis coordinates (each clip takes its class's
permuted coordinate; ``n_permutations`` uniformly random permutations, seed ``seed``)
and recomputes every figure from the same stimulus-level DE; p-values are
``(1 + #{null >= observed}) / (1 + n_permutations)`` (:mod:`offline.stats`).

``region_p``
    ``{region: p}`` of each region's mean ``|r|``; ``region_p_holm``: the same,
    Holm-adjusted over the regions.
``top_p``
    Family-wise p of the strongest channel × band: the share of permutations whose
    largest ``|r|`` over all channels × bands reaches the observed one (max-statistic).
``ordering``
    The paper's ordering of the four cortical regions, occipital highest and frontal
    lowest: ``holds``, ``margin`` = min(occipital − max(parietal, central),
    min(parietal, central) − frontal) (positive exactly when it holds) and ``p``, the
    permutation p of that margin.
``arousal_split_p``
    Permutation p of ``high − rest`` for the observed top channel × band.
``verdict``
    :func:`topography_verdict`: ``reproduced`` when the ordering holds with
    ``ordering.p < 0.05`` and the strongest channel × band is parieto-occipital gamma
    with ``top_p < 0.05``; ``partly`` when the ordering's p, ``top_p`` or the smallest
    Holm-adjusted region p is below 0.05 after a Holm adjustment over those three;
    ``not reproduced`` otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from offline.stats import ALPHA, holm, permutation_max_test, rank_p
from offline.training.metrics import pearson

from .regions import REGIONS, region_channels
from .runner import write_json

__all__ = ["TopographySettings", "run_topography", "topography_figures", "topography_tests",
           "topography_verdict"]

log = logging.getLogger(__name__)

#: Clips in the high-arousal group.
N_HIGH_AROUSAL = 9

#: The four cortical regions of the paper's ordering (highest first; parietal and
#: central are about equal there, so only the first and the last are checked).
PAPER_ORDER = ("occipital", "parietal", "central", "frontal")


@dataclass(frozen=True)
class TopographySettings:
    """Settings of the topography study.

    Attributes
    ----------
    faced_root : str
    subjects : str
        Subjects whose DE is averaged (held out from any training; default 80-99).
    arousal_subjects : str or None
        Subjects whose ratings give the clips' mean arousal (None: every subject with
        a ratings file in the root).
    axis : str or None
        V-axis folder (None: the shipped axis).
    n_permutations : int
        Permutations of the class coordinates for the p-values.
    seed : int
        Seed of the permutations.
    """

    faced_root: str
    subjects: str = "80-99"
    arousal_subjects: str | None = None
    axis: str | None = None
    n_permutations: int = 5000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_permutations < 1:
            raise ValueError(f"n_permutations must be >= 1, got {self.n_permutations}")


def topography_figures(
    stim_de: np.ndarray, clip_coordinates: np.ndarray, clip_arousal: np.ndarray,
    channels: tuple[str, ...], bands: tuple[str, ...],
) -> dict[str, Any]:
    """The study's figures from stimulus-level DE.

    Parameters
    ----------
    stim_de : ndarray (28, n_channels, n_bands)
        Stimulus-level (subject- and time-averaged standardized) DE.
    clip_coordinates : ndarray (28,)
        V-axis coordinate of each clip's class.
    clip_arousal : ndarray (28,)
        Mean arousal rating of each clip.
    channels, bands : tuple of str

    Returns
    -------
    dict with ``r``, ``regions``, ``top``, ``arousal_split``, ``high_arousal_clips``.
    """
    n_clips, n_ch, n_b = stim_de.shape
    if len(channels) != n_ch or len(bands) != n_b or len(clip_coordinates) != n_clips:
        raise ValueError(
            f"stimulus DE {stim_de.shape} does not match {len(channels)} channels, "
            f"{len(bands)} bands and {len(clip_coordinates)} clip coordinates"
        )
    r = np.array([[pearson(stim_de[:, c, b], clip_coordinates) for b in range(n_b)]
                  for c in range(n_ch)])
    groups = region_channels(channels)
    regions = {g: float(np.abs(r[idx]).mean()) for g, idx in groups.items()}
    c, b = np.unravel_index(np.nanargmax(np.abs(r)), r.shape)
    order = np.argsort(-np.asarray(clip_arousal), kind="stable")
    high = np.sort(order[:N_HIGH_AROUSAL])
    rest = np.sort(order[N_HIGH_AROUSAL:])
    split = {
        "high": pearson(stim_de[high, c, b], clip_coordinates[high]),
        "rest": pearson(stim_de[rest, c, b], clip_coordinates[rest]),
    }
    return {
        "r": [[float(v) for v in row] for row in r],
        "regions": regions,
        "top": {"channel": channels[c], "band": bands[b], "r": float(r[c, b])},
        "arousal_split": split,
        "high_arousal_clips": [int(i) + 1 for i in high],
    }


def _unit_columns(x: np.ndarray) -> np.ndarray:
    """Columns centered and scaled to unit norm (constant columns stay zero)."""
    x = x - x.mean(axis=0)
    norm = np.linalg.norm(x, axis=0)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


def ordering_margin(regions: dict[str, float] | np.ndarray) -> Any:
    """min(occipital − max(parietal, central), min(parietal, central) − frontal).

    Positive exactly when occipital has the highest and frontal the lowest mean ``|r|``
    of the four regions. ``regions``: a dict, or an array ``(..., 4)`` in
    :data:`PAPER_ORDER` order.
    """
    if isinstance(regions, dict):
        return float(ordering_margin(np.array([regions[k] for k in PAPER_ORDER])))
    occ, par, cen, fro = (regions[..., i] for i in range(4))
    return np.minimum(occ - np.maximum(par, cen), np.minimum(par, cen) - fro)


def topography_tests(
    stim_de: np.ndarray, class_coordinates: np.ndarray, clip_labels: np.ndarray,
    channels: tuple[str, ...], figures: dict[str, Any], n_permutations: int = 5000, seed: int = 0,
) -> dict[str, Any]:
    """Permutation p-values of the figures (module notes, "Tests").

    Parameters
    ----------
    stim_de : ndarray (n_clips, n_channels, n_bands)
    class_coordinates : ndarray (n_classes,)
    clip_labels : ndarray (n_clips,)
        Class of each clip.
    channels : tuple of str
    figures : dict
        :func:`topography_figures` of the same data.
    n_permutations, seed : int

    Returns
    -------
    dict with ``region_p``, ``region_p_holm``, ``top_p``, ``ordering``,
    ``arousal_split_p``, ``n_permutations``, ``permutation_seed``.
    """
    labels = np.asarray(clip_labels)
    n_clips, n_ch, n_b = stim_de.shape
    x = _unit_columns(np.asarray(stim_de, dtype=np.float64).reshape(n_clips, n_ch * n_b))

    def abs_r(coords: np.ndarray) -> np.ndarray:
        c = _unit_columns(np.asarray(coords, dtype=np.float64)[:, labels].T).T
        return np.abs(c @ x)

    res = permutation_max_test(np.asarray(class_coordinates, dtype=np.float64), abs_r,
                               n_permutations, seed)
    groups = region_channels(channels)
    names = list(groups)
    cols = {g: (np.asarray(idx)[:, None] * n_b + np.arange(n_b)[None, :]).ravel() for g, idx in groups.items()}
    null_regions = np.stack([res.null[:, cols[g]].mean(axis=1) for g in names], axis=1)
    obs_regions = np.array([figures["regions"][g] for g in names])
    region_p = {g: rank_p(obs_regions[i], null_regions[:, i]) for i, g in enumerate(names)}
    top = figures["top"]
    k = channels.index(top["channel"]) * n_b + list(_band_names(figures, n_b)).index(top["band"])
    out: dict[str, Any] = {
        "region_p": region_p,
        "region_p_holm": holm(region_p),
        "top_p": float(res.pvalue_max[k]),
        "n_permutations": res.n_permutations,
        "permutation_seed": seed,
    }
    if all(g in names for g in PAPER_ORDER):
        four = np.stack([null_regions[:, names.index(g)] for g in PAPER_ORDER], axis=1)
        margin = ordering_margin(figures["regions"])
        null_margin = ordering_margin(four)
        out["ordering"] = {
            "order": list(PAPER_ORDER),
            "holds": bool(margin > 0),
            "margin": margin,
            "p": rank_p(margin, null_margin),
            "null_holds_share": float(np.mean(null_margin > 0)),
        }
    high = np.asarray(figures["high_arousal_clips"]) - 1
    rest = np.setdiff1d(np.arange(n_clips), high)
    col = x[:, k]

    def split(coords: np.ndarray) -> np.ndarray:
        c = np.asarray(coords, dtype=np.float64)[:, labels]
        diff = []
        for sel in (high, rest):
            cs = _unit_columns(c[:, sel].T).T
            diff.append(cs @ _unit_columns(col[sel][:, None])[:, 0])
        return (diff[0] - diff[1])[:, None]

    split_res = permutation_max_test(np.asarray(class_coordinates, dtype=np.float64), split,
                                     n_permutations, seed)
    out["arousal_split_p"] = float(split_res.pvalue[0])
    return out


def _band_names(figures: dict[str, Any], n_b: int) -> tuple[str, ...]:
    bands = figures.get("bands")
    if bands is None:
        from bci_valence.constants import BAND_NAMES

        bands = BAND_NAMES
    if len(bands) != n_b:
        raise ValueError(f"{len(bands)} band names for {n_b} bands")
    return tuple(bands)


def topography_verdict(rec: dict[str, Any], alpha: float = ALPHA) -> dict[str, Any]:
    """The verdict on the paper's topography claim from a results record.

    Checks: (a) the paper's ordering (occipital highest, frontal lowest of the four
    cortical regions) holds and its margin beats the permutation null
    (``ordering.p < alpha``); (b) the strongest channel × band is parieto-occipital
    (``P``/``O`` names) and gamma, and its family-wise ``top_p < alpha``.

    Returns
    -------
    dict
        ``verdict``: ``reproduced`` when (a) and (b) hold; ``partly`` when any of the
        ordering's p (where it holds), ``top_p`` and the smallest Holm-adjusted region p
        is below ``alpha`` after a Holm adjustment over these three; ``not reproduced``
        otherwise. ``checks``: each check's outcome and ``partial_p_holm``.
    """
    ordering = rec.get("ordering") or {}
    top = rec["top"]
    top_p = rec.get("top_p", 1.0)
    ordering_p = ordering.get("p", 1.0) if ordering.get("holds") else 1.0
    posterior_gamma = top["channel"].upper().startswith(("P", "O")) and top["band"] == "gamma"
    ordering_ok = ordering_p < alpha
    top_ok = posterior_gamma and top_p < alpha
    region_p = [v for v in (rec.get("region_p_holm") or {}).values() if v == v]
    partial = holm({"ordering": ordering_p, "top": top_p, "region": min(region_p) if region_p else 1.0})
    checks = {"ordering_significant": bool(ordering_ok), "top_posterior_gamma_significant": bool(top_ok),
              "any_region_significant": bool(partial["region"] < alpha),
              "partial_p_holm": partial}
    if ordering_ok and top_ok:
        verdict = "reproduced"
    elif min(partial.values()) < alpha:
        verdict = "partly"
    else:
        verdict = "not reproduced"
    return {"verdict": verdict, "checks": checks}


def montage_sphere(info: Any) -> tuple[float, float, float, float]:
    """A sphere for MNE topomaps with every electrode inside the head outline.

    The sphere is fitted to the electrode positions (:func:`mne.bem.fit_sphere_to_headshape`);
    its center is then lowered, where needed, to 5 mm below the lowest electrode (the
    mastoids), so that every electrode lies above its equator and is drawn inside
    the head.
    """
    import mne

    radius, origin, _ = mne.bem.fit_sphere_to_headshape(info, dig_kinds=("eeg",), units="m",
                                                        verbose=False)
    z_min = min(float(ch["loc"][2]) for ch in info["chs"])
    cz = min(float(origin[2]), z_min - 0.005)
    return float(origin[0]), float(origin[1]), cz, float(radius)


def _topomaps(r: np.ndarray, bands: tuple[str, ...], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mne

    from bci_valence.signal.montage import faced_info

    info = faced_info()
    sphere = montage_sphere(info)
    vmax = float(np.nanmax(np.abs(r)))
    fig, axes = plt.subplots(1, len(bands) + 1, figsize=(2.4 * len(bands) + 0.6, 2.9),
                             gridspec_kw={"width_ratios": [1] * len(bands) + [0.08]})
    im = None
    for k, band in enumerate(bands):
        im, _ = mne.viz.plot_topomap(r[:, k], info, axes=axes[k], show=False, cmap="RdBu_r",
                                     vlim=(-vmax, vmax), sphere=sphere, contours=4,
                                     sensors=True, names=None)
        axes[k].set_title(band)
    fig.colorbar(im, cax=axes[-1], label="r with V-axis coordinate")
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def run_topography(settings: TopographySettings, out: str | Path, progress: bool = True) -> dict[str, Any]:
    """Run the study; write ``results.json``, ``summary.md`` and ``topomaps.png``.

    Returns
    -------
    dict
        The JSON written (figures plus ``settings``, ``subjects``, ``provenance``).
    """
    from bci_valence.constants import BAND_NAMES, CLIP_LABELS, FACED_CHANNELS
    from bci_valence.io.faced import (
        RATING_ITEMS,
        available_subjects,
        format_subjects,
        load_faced,
        load_ratings,
        parse_subjects,
        ratings_path,
    )
    from bci_valence.provenance import provenance
    from offline.training import standardize_subjects
    from offline.vaxis import load_axis

    from .runner import StudyFolder

    folder = StudyFolder(out, "topography", asdict(settings))
    data = load_faced(settings.faced_root, settings.subjects, progress=progress)
    z = standardize_subjects(data.de)  # (n, 28, 30, 32, 5)
    stim = z.mean(axis=(0, 2))  # (28, 32, 5)
    axis = load_axis(settings.axis)
    clip_coords = axis.coordinates_array()[np.asarray(CLIP_LABELS)]
    if settings.arousal_subjects is None:
        ar_subjects = [s for s in available_subjects(settings.faced_root)
                       if ratings_path(settings.faced_root, s).is_file()]
    else:
        ar_subjects = parse_subjects(settings.arousal_subjects)
    arousal_item = RATING_ITEMS.index("arousal")
    ratings = np.stack([load_ratings(ratings_path(settings.faced_root, s)) for s in ar_subjects])
    clip_arousal = ratings[..., arousal_item].mean(axis=0)
    figures = topography_figures(stim, clip_coords, clip_arousal, tuple(FACED_CHANNELS),
                                 tuple(BAND_NAMES))
    tests = topography_tests(stim, axis.coordinates_array(), np.asarray(CLIP_LABELS), tuple(FACED_CHANNELS),
                             {**figures, "bands": list(BAND_NAMES)}, settings.n_permutations, settings.seed)
    figures = {**figures, **tests}
    figures.update(topography_verdict(figures))
    result = {
        "study": "topography",
        **figures,
        "channels": list(FACED_CHANNELS),
        "bands": list(BAND_NAMES),
        "clip_mean_arousal": [float(v) for v in clip_arousal],
        "subjects": format_subjects(data.subjects),
        "n_subjects": data.n_subjects,
        "arousal_subjects": format_subjects(ar_subjects),
        "axis": axis.path.name if settings.axis is None else str(axis.path),
        "settings": asdict(settings),
        "definition": __doc__.split("Figures (JSON keys)")[0].strip(),
        "null": (f"the nine classes' V-axis coordinates permuted ({settings.n_permutations} random "
                 "permutations, seed " + str(settings.seed) + "); region_p: each region's mean |r|; top_p: "
                 "the largest |r| over every channel × band (max-statistic)"),
        "provenance": provenance(),
    }
    write_json(folder.path / "results.json", result)
    _topomaps(np.asarray(figures["r"]), tuple(BAND_NAMES), folder.path / "topomaps.png",
              f"r(stimulus DE, V-axis coordinate), 28 clips, sub {result['subjects']}")
    (folder.path / "summary.md").write_text(summary_markdown(result), encoding="utf-8")
    return result


def summary_markdown(result: dict[str, Any]) -> str:
    """The study's Markdown summary."""
    top = result["top"]
    lines = [
        "# Topography of the V-axis in stimulus-level DE",
        "",
        f"Subjects {result['subjects']} ({result['n_subjects']}), V-axis `{result['axis']}`, "
        f"{result['provenance']['date']}.",
        "",
        "Per channel × band: Pearson r across the 28 clips between the subjects' mean "
        "standardized DE of the clip and the V-axis coordinate of the clip's class.",
        "",
        f"p-values: {result['n_permutations']} permutations of the nine classes' V-axis coordinates.",
        "",
        "| region | mean \\|r\\| | p | p (Holm) |",
        "|---|---|---|---|",
    ]
    for region in REGIONS:
        if region in result["regions"]:
            lines.append(f"| {region} | {result['regions'][region]:.3f} | {result['region_p'][region]:.3g} | "
                         f"{result['region_p_holm'][region]:.3g} |")
    split = result["arousal_split"]
    ordering = result.get("ordering") or {}
    lines += [
        "",
        f"Paper's ordering (occipital highest, frontal lowest): holds: {'yes' if ordering.get('holds') else 'no'}, "
        f"margin {ordering.get('margin', float('nan')):+.3f}, p = {ordering.get('p', float('nan')):.3g}.",
        f"Strongest channel × band: **{top['channel']} {top['band']}**, r = {top['r']:+.3f} "
        f"(family-wise p = {result['top_p']:.3g} over all channels × bands).",
        f"On the {N_HIGH_AROUSAL} highest-arousal clips (mean rating over sub "
        f"{result['arousal_subjects']}; clips {result['high_arousal_clips']}): r = {split['high']:+.3f}; "
        f"on the other {28 - N_HIGH_AROUSAL}: r = {split['rest']:+.3f} (p of the difference "
        f"{result['arousal_split_p']:.3g}).",
        "",
        f"Verdict on the paper's claim: **{result['verdict']}**.",
        "",
        "![topomaps](topomaps.png)",
        "",
        f"Command: `{result['provenance']['command']}`",
        "",
    ]
    return "\n".join(lines)
