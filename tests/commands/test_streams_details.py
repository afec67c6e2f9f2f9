"""``bci-valence streams --details`` measures each stream's rate and jitter for a few seconds."""

from __future__ import annotations

import re

import pytest

from benchmarks.timing_corpus import CorpusPlayer, make_scenario
from bci_valence.cli import main


@pytest.mark.lsl
@pytest.mark.timeout(90)
def test_details_show_a_late_streams_effective_rate_and_jitter(capsys):
    player = CorpusPlayer(make_scenario("liblsl_lag100", seconds=25.0)).start()
    try:
        assert main(["streams", "--details", "--measure", "8", "--timeout", "2"]) == 0
    finally:
        player.stop()
    out = capsys.readouterr().out
    # the table may wrap a row over several lines: gather the row's last cell ("timing over")
    cell, in_row = [], False
    for line in out.splitlines():
        cells = line.split("│")
        if len(cells) < 3:
            in_row = False
            continue
        name = cells[1].strip()
        if name:
            in_row = name.startswith("timing-liblsl_lag100")
        if in_row:
            cell.append(cells[-2].strip())
    timing = " ".join(cell)
    match = re.search(r"(\d+\.\d\d) Hz \([+-]\d+ ppm\), jitter (\d+\.\d) ms", timing)
    assert match, out
    rate, jitter = float(match.group(1)), float(match.group(2))
    # a few seconds of chunks up to 100 ms late: the rate within a few percent, the lateness seen
    assert abs(rate - 250.0) < 10 and 20.0 < jitter < 150.0, out
