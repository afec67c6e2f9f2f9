"""The facts of FACED that the whole project shares: channels, bands, classes, clips.

Each fact is defined here once; every other module imports it from here.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BAND_NAMES",
    "CLIPS_PER_CLASS",
    "CLIP_LABELS",
    "CLIP_MEAN_VALENCE",
    "CLIP_VALENCE_GROUP",
    "EMOTION_CLASSES",
    "FACED_BANDS",
    "FACED_CHANNELS",
    "FACED_SFREQ",
    "HOP_RANGE_S",
    "NEGATIVE_CLASSES",
    "NOTCH_CHOICES",
    "N_CLIPS",
    "POSITIVE_CLASSES",
]

#: The FACED release's channel order (its ``FP1 … A1`` written in MNE's case).
#: A2 and A1 are the right and left mastoids.
FACED_CHANNELS: tuple[str, ...] = (
    "Fp1", "Fp2", "Fz", "F3", "F4", "F7", "F8", "FC1", "FC2", "FC5", "FC6",
    "Cz", "C3", "C4", "T7", "T8", "CP1", "CP2", "CP5", "CP6", "Pz", "P3", "P4",
    "P7", "P8", "PO3", "PO4", "Oz", "O1", "O2", "A2", "A1",
)  # fmt: skip

#: FACED's bands (Hz), in the release's order.
FACED_BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 14.0),
    "beta": (14.0, 30.0),
    "gamma": (30.0, 47.0),
}
#: Band names in the release's order.
BAND_NAMES: tuple[str, ...] = tuple(FACED_BANDS)

#: Sampling rate (Hz) of FACED's processed recordings, the rate the models read.
FACED_SFREQ = 250.0

#: The nine emotion classes, in label order.
EMOTION_CLASSES: tuple[str, ...] = (
    "anger", "disgust", "fear", "sadness", "neutral",
    "amusement", "inspiration", "joy", "tenderness",
)  # fmt: skip

#: Classes of positive and of negative valence (FACED's valence groups; neutral is neither).
POSITIVE_CLASSES: tuple[str, ...] = ("amusement", "inspiration", "joy", "tenderness")
NEGATIVE_CLASSES: tuple[str, ...] = ("anger", "disgust", "fear", "sadness")

#: Number of FACED clips (stimuli).
N_CLIPS = 28

#: Clips per class, in class order (neutral has four).
CLIPS_PER_CLASS: tuple[int, ...] = (3, 3, 3, 3, 4, 3, 3, 3, 3)

#: Emotion label (index into :data:`EMOTION_CLASSES`) of each clip, clip 1 first.
CLIP_LABELS: np.ndarray = np.repeat(np.arange(len(EMOTION_CLASSES)), CLIPS_PER_CLASS)

#: Valence group of each clip: -1 negative (1-12), 0 neutral (13-16), +1 positive (17-28).
CLIP_VALENCE_GROUP: np.ndarray = np.repeat(np.array([-1, 0, 1]), (12, 4, 12))

#: Mean rated valence (0-7) per clip over the release's 123 subjects (data README).
CLIP_MEAN_VALENCE: np.ndarray = np.array(
    [
        2.00, 1.51, 1.60, 1.64, 1.71, 1.57, 1.65, 1.48, 1.57, 1.57, 1.96, 2.05,
        3.05, 3.24, 3.33, 3.09,
        4.04, 4.22, 4.42, 5.23, 4.93, 4.21, 4.39, 4.43, 4.30, 4.42, 4.25, 4.62,
    ]
)  # fmt: skip
for _array in (CLIP_LABELS, CLIP_VALENCE_GROUP, CLIP_MEAN_VALENCE):
    _array.setflags(write=False)

#: Seconds between steps the online pipeline accepts (the CLI, the app and the settings
#: all check against this).
HOP_RANGE_S: tuple[float, float] = (0.02, 10.0)

#: Mains frequencies the notch filter takes (0: no notch).
NOTCH_CHOICES: tuple[float, ...] = (50.0, 60.0, 0.0)
