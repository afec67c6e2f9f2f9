"""The bars of the segment panel, without Qt: what :class:`~gui.widgets.segment_panel.SegmentPanel`
and the headless demo's figure draw from :class:`~bci_valence.online.segments.SegmentSummary` lists."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: The text of a segment that has no mean.
NO_USABLE_WINDOW = "no usable window"

#: Bar colours by the kind of segment: from the source's markers, or the app's marks.
KIND_COLOURS = {"marker": (70, 110, 190), "mark": (225, 140, 30)}


@dataclass(frozen=True)
class SegmentRow:
    """One bar: a segment's summary (a person's, or the group's) and what goes with it.

    Attributes
    ----------
    summary : SegmentSummary
        The bar's numbers (label, onset, mean, interval, windows).
    people : tuple of float
        Each person's mean in this segment (group bars only; NaN for a person without
        a usable window).
    running : bool
        The segment has not ended: its numbers still change.
    kind : str
        ``marker`` (the source's markers or a schedule) or ``mark`` (the app's Mark button).
    """

    summary: object
    people: tuple[float, ...] = ()
    running: bool = False
    kind: str = "marker"

    @property
    def empty(self) -> bool:
        """No usable window: no mean to draw."""
        return int(self.summary.n_usable) == 0 or not math.isfinite(self.summary.mean)


def segment_rows(
    summaries: Iterable[object], ends: Mapping[str, float] | None = None, kind: str = "marker"
) -> list[SegmentRow]:
    """The bars of one set of summaries, by onset.

    With a ``group`` summary among them, the bars are the group's, each with the
    people's means of the same segment (the k-th segment of a label in each stream,
    as :func:`~bci_valence.online.segments.summarize_group_segments` pairs them);
    otherwise each summary is a bar.

    Parameters
    ----------
    summaries : iterable of SegmentSummary
        From one :class:`~bci_valence.online.segments.SegmentTracker`.
    ends : mapping of str to float, optional
        Each stream's newest sample: a segment ending there is still running.
    kind : str
        What the segments come from (``marker`` or ``mark``).

    Returns
    -------
    list of SegmentRow
    """
    summaries = list(summaries)
    ends = dict(ends or {})

    def running(s: object) -> bool:
        end = ends.get(s.stream)
        return end is not None and s.onset + s.duration_s >= end - 1e-6

    group = [s for s in summaries if s.stream == "group"]
    if not group:
        return [SegmentRow(s, (), running(s), kind) for s in sorted(summaries, key=lambda s: s.onset)]
    # the k-th segment labelled X of each person is the k-th group segment labelled X
    people: dict[tuple[str, int], list[object]] = {}
    for name in dict.fromkeys(s.stream for s in summaries if s.stream != "group"):
        seen: dict[str, int] = {}
        for s in sorted((s for s in summaries if s.stream == name), key=lambda s: s.onset):
            k = seen.get(s.label, 0)
            seen[s.label] = k + 1
            people.setdefault((s.label, k), []).append(s)
    rows = []
    seen_group: dict[str, int] = {}
    for g in sorted(group, key=lambda s: s.onset):
        k = seen_group.get(g.label, 0)
        seen_group[g.label] = k + 1
        members = people.get((g.label, k), [])
        rows.append(SegmentRow(g, tuple(float(s.mean) for s in members), any(running(s) for s in members), kind))
    return rows


def describe_row(row: SegmentRow) -> str:
    """One line for a bar: label, mean and interval (or why there is none), windows."""
    s = row.summary
    state = " (running)" if row.running else ""
    who = f", {s.n_people} people" if s.stream == "group" else ""
    head = f"{s.label}{state}: {s.duration_s:.0f} s"
    if row.empty:
        return f"{head}, {NO_USABLE_WINDOW} ({s.n_windows} windows{who})"
    interval = (f"95% [{s.ci_low:+.2f}, {s.ci_high:+.2f}]" if math.isfinite(s.ci_low) and math.isfinite(s.ci_high)
                else "no interval yet")  # fmt: skip
    return f"{head}, mean {s.mean:+.2f}, {interval}, {s.n_usable} of {s.n_windows} windows usable{who}"
