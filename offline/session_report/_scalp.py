"""Scalp maps: each segment's mean standardized DE against the baseline's, and the
projection's share of the difference per channel (recordings only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._page import _cell, _fmt
from ._session import _Session, _Trace

#: Most rows of scalp maps: past it, a label's segments share a row.
MAX_MAP_ROWS = 24

_NO_MAPS_CSV = (
    "A step CSV holds no DE features, so this page has no scalp maps: make the report from "
    "the session's XDF recording (`run --record`) to get them."
)


def _map_rows(segments: Sequence[Any], base: int | None, origin: float) -> tuple[list[tuple[str, list[int]]], str]:
    """The rows of the scalp maps: each segment but the baseline, or, past :data:`MAX_MAP_ROWS`
    segments, each label's segments pooled; titles and segment indices, and what a row is."""
    others = [i for i in range(len(segments)) if i != base]
    if len(others) <= MAX_MAP_ROWS:
        return [(f"{segments[i].label} ({segments[i].onset - origin:.1f} s)", [i]) for i in others], "a segment"
    by_label: dict[str, list[int]] = {}
    for i in others:
        by_label.setdefault(segments[i].label, []).append(i)
    rows = [(f"{label} (×{len(ix)})", ix) for label, ix in by_label.items()]
    return rows, f"a label: its segments pooled ({len(others)} segments are too many for a map each)"



def _de_differences(trace: _Trace, segments: Sequence[Any], rows: Sequence[Sequence[int]], lag_s: float,
                    base: int | None) -> tuple[np.ndarray, np.ndarray, str]:  # fmt: skip
    """Mean standardized DE of each row's usable windows minus the reference's.

    A window belongs to the segment that holds its own centre (``timestamp - lag_s``).
    The reference is the baseline segment, else every usable window of the session.

    Parameters
    ----------
    rows : sequence of sequence of int
        The segments (indices) pooled into each row.

    Returns
    -------
    diffs : ndarray (n_rows, n_channels, n_bands)
        NaN for a row without a usable window (all NaN when the reference has none).
    counts : ndarray (n_rows,) int
        Usable windows behind each row's mean.
    reference : str
        What the maps are against, for the page ("" when the reference has no usable window).
    """
    assert trace.de_z is not None
    centre = trace.timestamps - lag_s
    ok = trace.usable
    shape = trace.de_z.shape[1:]

    def members(indices: Sequence[int]) -> np.ndarray:
        m = np.zeros(trace.size, dtype=bool)
        for i in indices:
            m |= np.asarray(segments[i].contains(centre), dtype=bool)
        return m & ok

    def mean(m: np.ndarray) -> np.ndarray:
        return trace.de_z[m].mean(axis=0) if m.any() else np.full(shape, np.nan)

    ref = members([base]) if base is not None else ok
    if base is not None:
        what = f"the baseline segment `{segments[base].label}` ({int(ref.sum())} usable windows)"
    else:
        what = f"the mean of every usable window of the session ({int(ref.sum())} windows; no --baseline)"
    masks = [members(ix) for ix in rows]
    diffs = np.stack([mean(m) for m in masks]) - mean(ref) if masks else np.zeros((0, *shape))
    return diffs, np.array([int(m.sum()) for m in masks], dtype=int), what if ref.any() else ""



def _scalp_figure(diffs: np.ndarray, weights: np.ndarray, titles: Sequence[str], channels: Sequence[str],
                  band_names: Sequence[str], bands: Sequence[str], path: Path) -> None:
    """Scalp maps: one row per ``diffs`` row (a segment), one column per chosen band, then the
    projection's contribution per channel (``sum over bands of weight × DE difference``)."""
    import matplotlib.pyplot as plt
    import mne

    from bci_valence.signal.montage import faced_info

    from ..report import _montage_sphere

    info = faced_info()
    if list(info.ch_names) != list(channels):
        info = info.copy().pick(list(channels))
    sphere = _montage_sphere(info)
    cols = [band_names.index(b) for b in bands]
    contrib = (diffs * weights[None]).sum(axis=2)  # (rows, channels)
    lim_de = float(np.nanmax(np.abs(diffs[:, :, cols]))) or 1.0
    lim_c = float(np.nanmax(np.abs(contrib))) or 1.0
    n_cols = len(cols) + 1
    fig, axes = plt.subplots(len(titles), n_cols, figsize=(2.3 * n_cols + 0.4, 2.4 * len(titles) + 1.0),
                             squeeze=False, layout="constrained")  # fmt: skip
    im_de = im_c = None
    for r, title in enumerate(titles):
        for c, b in enumerate(cols):
            im_de, _ = mne.viz.plot_topomap(diffs[r, :, b], info, axes=axes[r, c], show=False, cmap="RdBu_r",
                                            vlim=(-lim_de, lim_de), contours=0, sphere=sphere)  # fmt: skip
            axes[r, c].set_title(f"{title}\n{band_names[b]} DE (z)", fontsize=8)
        im_c, _ = mne.viz.plot_topomap(contrib[r], info, axes=axes[r, -1], show=False, cmap="PuOr_r",
                                       vlim=(-lim_c, lim_c), contours=0, sphere=sphere)  # fmt: skip
        axes[r, -1].set_title(f"{title}\nprojection's share", fontsize=8)
    fig.colorbar(im_de, ax=list(axes[:, :-1].ravel()), location="bottom", shrink=0.9,
                 label="DE difference (z units)")  # fmt: skip
    fig.colorbar(im_c, ax=list(axes[:, -1]), location="bottom", shrink=0.9, label="valence difference (V-axis units)")
    fig.savefig(path, dpi=100)
    plt.close(fig)



def _scalp_section(session: _Session, segments: Sequence[Any], summaries: Sequence[Any], base: int | None,
                   bundle: Any, band: str, window_s: float, average: int,
                   path: Path) -> tuple[list[str], bool]:  # fmt: skip
    """Draw the scalp maps (when the session has DE and a segment to map); what the page says
    about them, and whether they were drawn."""
    trace = session.trace
    if trace.de_z is None:
        return [_NO_MAPS_CSV], False
    rows, row_is = _map_rows(segments, base, session.origin)
    if not rows:
        return ["No segment to map" + (" but the baseline." if base is not None else "."), ], False
    diffs, counts, reference = _de_differences(trace, segments, [ix for _, ix in rows], window_s / 2, base)
    if not reference:
        return [f"The baseline segment `{segments[base].label}` has no usable window: no scalp map."], False
    keep = [r for r in range(len(rows)) if counts[r] > 0][:MAX_MAP_ROWS]
    left = [rows[r][0] for r in range(len(rows)) if r not in keep]
    if not keep:
        return ["No segment other than the baseline has a usable window: no scalp map."], False
    band_names = list(bundle.config.band_names)
    bands = band_names if band == "all" else [band]
    weights = np.asarray(bundle.projection_weights, dtype=np.float64)
    _scalp_figure(diffs[keep], weights, [rows[r][0] for r in keep], list(bundle.config.channels), band_names, bands,
                  path)  # fmt: skip
    shares = (diffs * weights[None]).sum(axis=(1, 2))
    lines = [
        f"Each row is {row_is}, against {reference}: the mean standardized DE (z against the calibration) of "
        f"its usable windows minus the reference's, for {', '.join(bands)}, and the projection's share per "
        "channel (the sum over bands of weight × DE difference). A window belongs to the segment that holds "
        f"its own centre (timestamp − {window_s / 2:.3f} s).",
        "",
        f"![scalp maps against the reference]({path.name})",
        "",
        "The shares summed over channels give the difference the projection makes of single windows' DE"
        + ("" if base is None else
           f"; the table's difference is of the valence, averaged over {average} window(s) and assigned by the "
           "centre of that average, so the two differ a little") + ":",  # fmt: skip
        "",
        "| map | windows | summed share |" + ("" if base is None else " table's difference |"),
        "|---|---:|---:|" + ("" if base is None else "---:|"),
    ]
    for r in keep:
        title, ix = rows[r]
        table = "" if base is None else f" {_fmt(summaries[ix[0]].diff) if len(ix) == 1 else '—'} |"
        lines.append(f"| {_cell(title)} | {counts[r]} | {_fmt(float(shares[r]))} |{table}")
    if left:
        lines += ["", f"No map for {', '.join(left)}: no usable window, or more than {MAX_MAP_ROWS} rows."]
    return lines, True
