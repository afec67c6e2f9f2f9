"""The app's layers are a contract (pyproject.toml): a window-level import planted in a
widget, a worker import in a panel, or any import of ``offline`` breaks it."""

from __future__ import annotations

import pytest

from tests.test_architecture import LINT, _copy_tree, _lint

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed (pip install -e '.[test]')")


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("gui/widgets/probabilities.py", "import gui.main_window", "gui's layers"),
        ("gui/panels/builtin.py", "import gui.worker", "gui's layers"),  # panels never drive the worker
        ("gui/headless.py", "import gui.worker", "gui's layers"),
        ("gui/channel_states.py", "import gui.widgets.raw_traces", "gui's layers"),
        ("gui/session.py", "import offline.stats", "never imports offline"),
    ],
)
def test_planted_import_breaks_the_gui_contracts(tmp_path, module, planted, broken):
    root = _copy_tree(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{planted}  # planted by the test\n")
    proc = _lint(root)
    assert proc.returncode != 0, proc.stdout
    broken_lines = [line for line in proc.stdout.splitlines() if "BROKEN" in line]
    assert broken_lines, proc.stdout
    # the contract's name may wrap over two lines in the report
    assert broken in proc.stdout.split("BROKEN")[0].rsplit("KEPT", 1)[-1].replace("\n", " "), proc.stdout
