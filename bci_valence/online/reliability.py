"""What the live valence is worth on content the model never saw, from the bundle's own figures.

A bundle trained with ``bci-valence train --protocol unseen-clips`` records, in
``bundle.json`` (``metrics["protocols"]``), its validation figures under two protocols:
``seen-clips`` (new people watching FACED's training clips) and ``unseen-clips`` (new
people and clips no model saw: what a user watching their own content gets).
:class:`ValenceReliability` turns them into the words and numbers a display shows beside
the valence trace: how well positive and negative content is told apart, how much the
trace moves while the content's valence stays the same (the noise band), how far apart
positive and negative content sit on average, and that the nine class probabilities
are specific to FACED's stimuli.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["ValenceReliability"]


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


@dataclass(frozen=True)
class ValenceReliability:
    """The measured reliability of the live valence on new content.

    Attributes
    ----------
    auc_subject_clip : float or None
        ``unseen-clips`` binary valence AUC (positive vs negative content) of a person's
        mean valence over a whole clip (30 s).
    auc_window : float or None
        The same for one 10-s reading.
    clip_r_ratings : float or None
        Per-stimulus r of the mean valence against the clips' mean rated valence.
    subject_r_ratings : float or None
        Mean over people of r against their own ratings.
    noise_sd : float or None
        ``window_noise_sd``: how much a 10-s reading moves (standard deviation) while the
        content stays the same, in valence units.
    swing : float or None
        ``positive_minus_negative``: mean valence of positive content minus negative content.
    seen_auc_subject_clip : float or None
        The AUC on FACED clips the model was trained on (for comparison).
    bacc_seen, bacc_unseen : float or None
        9-class balanced accuracy on seen and on unseen clips (chance 1/9).
    validation_subjects : str or None
        The held-out people the figures were measured on.
    """

    auc_subject_clip: float | None = None
    auc_window: float | None = None
    clip_r_ratings: float | None = None
    subject_r_ratings: float | None = None
    noise_sd: float | None = None
    swing: float | None = None
    seen_auc_subject_clip: float | None = None
    bacc_seen: float | None = None
    bacc_unseen: float | None = None
    validation_subjects: str | None = None

    @classmethod
    def from_metrics(cls, metrics: dict[str, Any] | None) -> ValenceReliability:
        """Read a bundle's ``metrics`` (``metrics["protocols"]``); empty when it has none."""
        protocols = (metrics or {}).get("protocols")
        if not isinstance(protocols, dict):
            return cls()
        unseen = protocols.get("unseen-clips") or {}
        seen = protocols.get("seen-clips") or {}
        return cls(
            auc_subject_clip=_number(unseen.get("valence_auc_subject_clip")),
            auc_window=_number(unseen.get("valence_auc_window")),
            clip_r_ratings=_number(unseen.get("clip_r_ratings")),
            subject_r_ratings=_number(unseen.get("subject_r_ratings")),
            noise_sd=_number(unseen.get("window_noise_sd")),
            swing=_number(unseen.get("positive_minus_negative")),
            seen_auc_subject_clip=_number(seen.get("valence_auc_subject_clip")),
            bacc_seen=_number(seen.get("bacc")),
            bacc_unseen=_number(unseen.get("bacc")),
            validation_subjects=protocols.get("validation_subjects"),
        )

    @classmethod
    def from_bundle(cls, bundle: Any) -> ValenceReliability:
        """Read a :class:`~bci_valence.model.bundle.ModelBundle` (or its config)."""
        config = getattr(bundle, "config", bundle)
        return cls.from_metrics(getattr(config, "metrics", None))

    @property
    def available(self) -> bool:
        """Whether the bundle recorded unseen-content figures."""
        return self.auc_subject_clip is not None

    def summary(self) -> str:
        """One line for beside the trace."""
        if not self.available:
            return ("valence reliability on new content: not measured for this bundle "
                    "(train it with --protocol unseen-clips)")
        parts = [f"on new content, positive vs negative: AUC {self.auc_subject_clip:.2f} per 30 s"]
        if self.auc_window is not None:
            parts[0] += f", {self.auc_window:.2f} per 10 s (0.5 = chance)"
        if self.noise_sd is not None:
            parts.append(f"moves within ±{self.noise_sd:.2f} are noise")
        return "; ".join(parts)

    def details(self) -> str:
        """Several lines for a tooltip."""
        if not self.available:
            return self.summary()
        lines = [
            "What the valence means on content the model never saw",
            (f"(held-out people{' sub ' + self.validation_subjects if self.validation_subjects else ''}, "
             "FACED clips left out of training):"),
            f"• positive vs negative content told apart with AUC {self.auc_subject_clip:.2f} over a "
            f"30-s clip" + (f", {self.auc_window:.2f} over one 10-s reading" if self.auc_window is not None else ""),
        ]
        if self.seen_auc_subject_clip is not None:
            lines.append(f"  (on FACED clips seen in training: {self.seen_auc_subject_clip:.2f})")
        if self.clip_r_ratings is not None:
            lines.append(f"• per-stimulus r with people's mean rated valence: {self.clip_r_ratings:.2f}")
        if self.subject_r_ratings is not None:
            lines.append(f"• r with one person's own ratings: {self.subject_r_ratings:.2f} on average")
        if self.noise_sd is not None:
            lines.append(f"• the trace moves ±{self.noise_sd:.2f} (1 SD) while the content stays the same "
                         "(the shaded band)")
        if self.swing is not None:
            lines.append(f"• positive content reads {self.swing:+.2f} above negative content on average")
        lines.append("Trust slow, sustained shifts larger than the band; single swings are mostly noise.")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """The figures and their reading, JSON-able (for a session log's description)."""
        return {
            "summary": self.summary(),
            "details": self.details(),
            "probabilities": self.probabilities_note(),
            "figures": {
                "valence_auc_subject_clip": self.auc_subject_clip,
                "valence_auc_window": self.auc_window,
                "clip_r_ratings": self.clip_r_ratings,
                "subject_r_ratings": self.subject_r_ratings,
                "window_noise_sd": self.noise_sd,
                "positive_minus_negative": self.swing,
                "seen_clips_valence_auc_subject_clip": self.seen_auc_subject_clip,
                "bacc_seen_clips": self.bacc_seen,
                "bacc_unseen_clips": self.bacc_unseen,
                "validation_subjects": self.validation_subjects,
            },
        }

    def probabilities_note(self) -> str:
        """What the nine class probabilities are: labels of FACED's stimuli."""
        text = "Probabilities of FACED's nine stimulus classes: specific to FACED's clips."
        if self.bacc_seen is not None and self.bacc_unseen is not None:
            text += (f" Balanced accuracy {self.bacc_seen:.2f} on FACED clips seen in training, "
                     f"{self.bacc_unseen:.2f} on clips never seen (chance 0.11).")
        return text
