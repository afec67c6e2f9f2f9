"""Build ``bci_valence/data/faced_class_stats.json``: the simulated headset's statistics.

From FACED's per-second differential entropy (DE, shape (28 clips, 32 ch, 30 s, 5 bands)
per subject), after standardizing each subject's DE per channel x band (over all
clips and seconds):

- ``class_mean_z`` / ``class_std_z`` (9 classes x 32 ch x 5 bands): mean and std of the
  standardized DE over every second of every clip of the class and every subject;
- ``global_mean_de`` (32 x 5): mean raw DE level (FACED's unit, microvolts), averaged
  over subjects; ``within_subject_std_de`` (32 x 5): mean per-subject std of DE, to turn
  standardized values back into DE (DE = global_mean + within_std * z);
- ``within_clip_std_z`` (32 x 5): std of standardized DE around each clip's mean (the
  rest of a class's spread is clip-to-clip);
- ``lag1_autocorrelation`` (5 bands): correlation of standardized DE between
  consecutive seconds of a clip (after removing the clip mean);
- ``channel_correlation`` (5 bands): mean correlation between channels of the
  standardized DE (how much of the fluctuation is common to all channels).

Run: ``python -m offline.simulator_stats [--faced ROOT]``. The JSON is
committed so the simulator works on a fresh clone without ``../shared``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bci_valence.constants import CLIP_LABELS, EMOTION_CLASSES, FACED_BANDS, FACED_CHANNELS, FACED_SFREQ
from bci_valence.io.faced import default_faced_root, load_faced

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "bci_valence" / "data" / "faced_class_stats.json"


def compute_stats(de: np.ndarray, subjects: list[int]) -> dict:
    """Statistics for the simulator.

    Parameters
    ----------
    de : ndarray, shape (n_sub, 28, 32, 30, 5)
        FACED DE in clip order.
    subjects : list of int
        Subject indices (recorded in the output).

    Returns
    -------
    dict
        JSON-able statistics (see module docstring).
    """
    de = np.asarray(de, dtype=np.float64)
    n_sub = de.shape[0]
    mu = de.mean(axis=(1, 3))  # (sub, ch, band)
    sd = de.std(axis=(1, 3))
    z = (de - mu[:, None, :, None, :]) / sd[:, None, :, None, :]
    class_mean = np.zeros((len(EMOTION_CLASSES), de.shape[2], de.shape[4]))
    class_std = np.zeros_like(class_mean)
    for c in range(len(EMOTION_CLASSES)):
        zc = z[:, CLIP_LABELS == c]
        class_mean[c] = zc.mean(axis=(0, 1, 3))
        class_std[c] = zc.std(axis=(0, 1, 3))
    # temporal autocorrelation within clips, clip mean removed
    r = z - z.mean(axis=3, keepdims=True)
    num = (r[:, :, :, 1:] * r[:, :, :, :-1]).sum(axis=(0, 1, 2, 3))
    den = (r**2).sum(axis=(0, 1, 2, 3))
    lag1 = num / den
    within_clip = r.std(axis=(0, 1, 3))  # (ch, band)
    # mean off-diagonal channel correlation per band
    chan_corr = []
    for b in range(de.shape[4]):
        x = np.moveaxis(z[..., b], 2, -1).reshape(-1, de.shape[2])  # (samples, ch)
        c = np.corrcoef(x, rowvar=False)
        off = c[~np.eye(c.shape[0], dtype=bool)]
        chan_corr.append(float(off.mean()))

    def rnd(a: np.ndarray) -> list:
        return np.round(a, 5).tolist()

    return {
        "description": (
            "Class-conditional statistics of FACED differential entropy (DE = 0.5 ln(2 pi e var)) "
            "for the simulated headset; built by offline/simulator_stats.py"
        ),
        "source": "FACED (Chen et al. 2023) EEG_Features/DE",
        "subjects": [int(s) for s in subjects],
        "n_subjects": int(n_sub),
        "unit": "microvolts",
        "sfreq": FACED_SFREQ,
        "classes": list(EMOTION_CLASSES),
        "channels": list(FACED_CHANNELS),
        "bands": {k: list(v) for k, v in FACED_BANDS.items()},
        "global_mean_de": rnd(mu.mean(axis=0)),
        "between_subject_std_de": rnd(mu.std(axis=0)),
        "within_subject_std_de": rnd(sd.mean(axis=0)),
        "class_mean_z": {name: rnd(class_mean[c]) for c, name in enumerate(EMOTION_CLASSES)},
        "class_std_z": {name: rnd(class_std[c]) for c, name in enumerate(EMOTION_CLASSES)},
        "within_clip_std_z": rnd(within_clip),
        "lag1_autocorrelation": rnd(lag1),
        "channel_correlation": [round(v, 5) for v in chan_corr],
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: compute and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faced", type=Path, default=default_faced_root(),
                        help="FACED root (default %(default)s: $BCI_VALENCE_FACED, else "
                             "$BCI_VALENCE_SHARED_DATA/faced, else ../shared/data/faced if it exists, "
                             "else ./faced)")
    parser.add_argument("--subjects", default=None, help="subject selection, e.g. 0-79 (default: all)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    data = load_faced(args.faced, args.subjects)
    stats = compute_stats(data.de, list(data.subjects))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(stats, indent=1) + "\n")
    print(f"wrote {args.output} ({stats['n_subjects']} subjects)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
