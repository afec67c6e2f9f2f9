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
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from offline.training.metrics import pearson

from .regions import REGIONS, region_channels
from .runner import write_json

__all__ = ["TopographySettings", "run_topography", "topography_figures"]

log = logging.getLogger(__name__)

#: Clips in the high-arousal group.
N_HIGH_AROUSAL = 9


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
    """

    faced_root: str
    subjects: str = "80-99"
    arousal_subjects: str | None = None
    axis: str | None = None


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
        "| region | mean \\|r\\| |",
        "|---|---|",
    ]
    for region in REGIONS:
        if region in result["regions"]:
            lines.append(f"| {region} | {result['regions'][region]:.3f} |")
    split = result["arousal_split"]
    lines += [
        "",
        f"Strongest channel × band: **{top['channel']} {top['band']}**, r = {top['r']:+.3f}.",
        f"On the {N_HIGH_AROUSAL} highest-arousal clips (mean rating over sub "
        f"{result['arousal_subjects']}; clips {result['high_arousal_clips']}): r = {split['high']:+.3f}; "
        f"on the other {28 - N_HIGH_AROUSAL}: r = {split['rest']:+.3f}.",
        "",
        "![topomaps](topomaps.png)",
        "",
        f"Command: `{result['provenance']['command']}`",
        "",
    ]
    return "\n".join(lines)
