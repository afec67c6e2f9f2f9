"""``bci-valence session-report SESSION --out DIR``: a Markdown page with figures for one session.

The session is a recording (an XDF file from ``run --record``, or anything ``replay``
reads), replayed through the online pipeline first
(:func:`~bci_valence.online.replay.run_offline`), or a step CSV from ``run --out``
(:func:`~bci_valence.streams.outlets.read_csv_log`), read as it is. The folder gets:

* ``report.md`` — the file and its provenance, one table row per segment (label, onset,
  duration, windows, usable windows, mean valence, 95% interval, difference from the
  baseline), the figures, and what the valence is worth on content the model never saw
  (:class:`~bci_valence.online.reliability.ValenceReliability`);
* ``trace.png`` — the valence trace with the segments shaded and their means;
* ``segments.png`` — per-segment bars with their 95% intervals (and the differences
  from the baseline);
* ``quality.png`` — the quality timeline: which windows were usable, which flags they
  carried, the calibration's progress;
* ``scalp_maps.png`` — recordings only: for each segment, the mean standardized DE per
  channel minus the baseline's (the chosen band), and the projection's share of the
  valence difference per channel. A step CSV holds no DE, so its page has no scalp maps
  and says so;
* ``segments.csv`` (and its ``.json``) — the table's numbers, unrounded
  (:func:`~bci_valence.online.segment_outputs.write_segments_csv`).

Segments, windows, usable windows and intervals are those of the live run's
``--segments-out`` (:func:`~bci_valence.online.segments.summarize_segments`, with the
settings :meth:`~bci_valence.online.segment_outputs.SegmentOutputs.segment_settings`
reads from a pipeline). Segments come from ``--segments FILE.csv`` when given, else from
the recording's markers, else (a step CSV) from the changes of its ``true_label``
column, where the pipeline writes the class named by the current marker.
"""

from __future__ import annotations

from ._cli import add_parser
from ._page import FIGURES, REPORT_NAME, SEGMENTS_CSV
from ._scalp import MAX_MAP_ROWS
from ._session import EmptySessionError, SessionReportError
from ._write import write_session_report

__all__ = [
    "EmptySessionError",
    "FIGURES",
    "MAX_MAP_ROWS",
    "REPORT_NAME",
    "SEGMENTS_CSV",
    "SessionReportError",
    "add_parser",
    "write_session_report",
]
